"""The labelling helper: first looks, blind relooks, and labels decided by the majority of looks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from classifier import data, labelling
from classifier.data import Label, decide, read_labels, read_looks, write_labels, write_looks


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Labels, looks, sheets and a six-image pool, all under ``tmp_path``."""
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(6):
        Image.fromarray(np.full((24, 24), 40 * i, np.uint8)).save(pool / f"{i:06d}.jpg")
    monkeypatch.setattr(data, "LABELS_CSV", tmp_path / "labels.csv")
    monkeypatch.setattr(data, "LOOKS_CSV", tmp_path / "looks.csv")
    monkeypatch.setattr(labelling, "SHEETS", tmp_path / "sheets")
    monkeypatch.setenv("EYES_DATASET", str(pool))
    return tmp_path


def test_decide_takes_the_strict_majority_and_refuses_ties():
    assert decide(["open"]) == "open"
    assert decide(["open", "open"]) == "open"
    assert decide(["open", "closed"]) == "unusable"  # a tie is not a label
    assert decide(["open", "closed", "closed"]) == "closed"
    assert decide(["unusable", "closed", "open"]) == "unusable"
    with pytest.raises(ValueError):
        decide([])


def test_a_relook_sheet_holds_single_looks_and_ties_but_not_settled_crops(workspace):
    looks = {"000000.jpg": ["open"], "000001.jpg": ["open", "closed"], "000002.jpg": ["closed", "closed"]}
    splits = {"000000.jpg": "val", "000001.jpg": "train", "000002.jpg": "val"}
    write_labels([Label(n, decide(v), splits[n], "random" if splits[n] == "val" else "pick") for n, v in looks.items()])
    write_looks(looks, splits)

    listing = labelling.make_sheet("look").with_suffix(".txt")
    entries = [line.split(",") for line in listing.read_text().split()]
    assert sorted(name for _, name, _ in entries) == ["000000.jpg", "000001.jpg"]
    assert labelling.relook_batch(10) == []  # a rendered, unrecorded sheet is not handed out twice

    decisions = {"000000.jpg": "c", "000001.jpg": "o"}
    labelling.record(listing, "".join(decisions[name] for _, name, _ in entries))
    labels = {r.file: r for r in read_labels()}
    assert read_looks()["000000.jpg"] == ["open", "closed"]
    assert labels["000000.jpg"].label == "unusable"  # one look each way: not settled
    assert read_looks()["000001.jpg"] == ["open", "closed", "open"]
    assert labels["000001.jpg"].label == "open"
    assert (labels["000001.jpg"].split, labels["000001.jpg"].how) == ("train", "pick")  # kept, not overwritten
    assert labels["000002.jpg"].label == "closed"


def test_a_first_look_is_recorded_as_the_label_and_the_only_look(workspace, monkeypatch):
    monkeypatch.setattr(labelling, "validation_draw", lambda files, *args: files[:3])
    listing = labelling.make_sheet("val", count=2).with_suffix(".txt")
    assert labelling.record(listing, "ou") == 2
    assert [(r.file, r.label, r.split, r.how) for r in read_labels()] == [
        ("000000.jpg", "open", "val", "random"),
        ("000001.jpg", "unusable", "val", "random"),
    ]
    assert read_looks() == {"000000.jpg": ["open"], "000001.jpg": ["unusable"]}
    with pytest.raises(SystemExit, match="lists 1 images but 2 decisions"):
        labelling.record(labelling.make_sheet("val").with_suffix(".txt"), "oc")


def test_uncertain_picks_come_from_the_least_sure_crops_spread_over_the_embedding():
    from classifier.select import UNCERTAIN_POOL, uncertain_picks

    rng = np.random.default_rng(0)
    embedding = rng.normal(size=(300, 8))
    p_open = rng.uniform(size=300)
    excluded = set(np.argsort(np.abs(p_open - 0.5))[:5].tolist())  # the five least sure are already taken
    picks = uncertain_picks(embedding, p_open, excluded, count=10)
    chosen = [index for index, _ in picks]
    assert len(set(chosen)) == 10 and not excluded & set(chosen)
    shortlist = [i for i in np.argsort(np.abs(p_open - 0.5)) if i not in excluded][: UNCERTAIN_POOL * 10]
    assert set(chosen) <= set(shortlist)
    assert all(f"p_open {p_open[i]:.2f}" in reason for i, reason in picks)
