"""The labelling tool: blind sessions out, looks back in, labels decided from every look."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training import data, labelling
from training.data import Look, decide, read_labels, read_looks, unanimous
from training.metrics import fleiss_kappa


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Labels, looks, sessions, a train queue and a reference list over a ten-image pool, all under ``tmp_path``."""
    pool = tmp_path / "pool"
    pool.mkdir()
    for i in range(10):
        Image.fromarray(np.full((24, 24), 20 * i, np.uint8)).save(pool / f"{i:06d}.jpg")
    monkeypatch.setenv("EYES_DATASET", str(pool))
    monkeypatch.setattr(data, "LABELS_CSV", tmp_path / "labels.csv")
    monkeypatch.setattr(data, "LOOKS_CSV", tmp_path / "looks.csv")
    monkeypatch.setattr(labelling, "SESSIONS", tmp_path / "sessions")
    monkeypatch.setattr(labelling, "validation_draw", lambda files, *args: files[:4])
    queue = tmp_path / "queue.csv"
    queue.write_text("rank,file,reason\n0,000005.jpg,typical\n1,000006.jpg,typical\n")
    monkeypatch.setattr(labelling, "TRAIN_QUEUE", queue)
    reference = tmp_path / "reference.csv"
    reference.write_text("file,label,caption\n000009.jpg,open,open\n")
    monkeypatch.setattr(labelling, "REFERENCE_CSV", reference)
    return tmp_path


def answer(labeller: str, letters: dict[str, str]) -> None:
    """Write ``labeller``'s answers file from ``{file: letter}``, in the tile order of their session's key."""
    with labelling.key_path(labeller).open(newline="") as handle:
        key = list(csv.DictReader(handle))
    sheets: dict[str, str] = {}
    for row in key:
        sheets[row["sheet"]] = sheets.get(row["sheet"], "") + letters[row["file"]]
    lines = [f"sheet_{int(sheet):03d}: {text}" for sheet, text in sheets.items()]
    (labelling.session_folder(labeller) / "answers.txt").write_text("\n".join(lines) + "\n")


def test_unsure_abstains_and_a_label_needs_two_looks_and_two_thirds():
    assert decide(["open", "open", "closed"]) == "open"
    assert decide(["open", "open", "unsure"]) == "open"
    assert decide(["open", "closed", "unsure"]) == "unsure"  # a split is not a label
    assert decide(["open", "unsure", "unsure"]) == "unsure"  # one look is not a label
    assert decide(["unsure"] * 3 + ["closed"] * 3) == "closed"
    assert decide(["open", "open", "closed", "closed", "open"]) == "unsure"  # 3 of 5 is under two thirds
    assert decide(["unusable", "unusable", "open"]) == "unusable"
    with pytest.raises(ValueError):
        decide([])


def test_unanimous_means_every_look_gave_the_same_open_or_closed():
    assert unanimous(["open"] * 3) and unanimous(["closed"] * 3)
    assert not unanimous(["open", "open", "unsure"])
    assert not unanimous(["unusable"] * 3)


def test_fleiss_kappa_is_one_for_agreement_and_negative_below_chance():
    categories = ["open", "closed"]
    assert fleiss_kappa([["open"] * 3, ["closed"] * 3], categories) == pytest.approx(1.0)
    assert fleiss_kappa([["open", "closed", "open"], ["closed", "open", "closed"]], categories) < 0
    with pytest.raises(ValueError):
        fleiss_kappa([["open", "closed"], ["open"]], categories)


def test_a_session_is_blind_and_shuffled_and_its_looks_become_labels(workspace):
    crops = labelling.crops_for("both", budget=2)
    assert [f for f, _ in crops] == [f"{i:06d}.jpg" for i in (0, 1, 2, 3, 5, 6)]
    truth = {"000000.jpg": "o", "000001.jpg": "c", "000002.jpg": "s", "000003.jpg": "u"}
    truth |= {"000005.jpg": "o", "000006.jpg": "c"}
    orders = {}
    for labeller in ("A", "B", "C"):
        folder = labelling.start_session(labeller, crops, tiles=4)
        assert sorted(p.name for p in folder.iterdir()) == [
            "README.md",
            "answers.txt",
            "reference.png",
            "sheet_000.png",
            "sheet_001.png",
        ]
        readme = (folder / "README.md").read_text()
        assert "closed" in readme and not any(name in readme for name, _ in crops)  # the convention, no file names
        with labelling.key_path(labeller).open(newline="") as handle:
            orders[labeller] = [row["file"] for row in csv.DictReader(handle)]
        assert not labelling.key_path(labeller).is_relative_to(folder)  # the key is kept out of the labeller's sight
        answer(labeller, truth | ({"000000.jpg": "c"} if labeller == "C" else {}))
        assert labelling.collect(labeller) == 6
    assert len({tuple(order) for order in orders.values()}) == 3, "each labeller sees their own shuffle"

    looks = read_looks()
    assert len(looks) == 18 and {look.round for look in looks} == {data.ROUND}
    labels = {row.file: row for row in read_labels()}
    assert labels["000000.jpg"].label == "open"  # two of three
    assert labels["000001.jpg"].label == "closed"
    assert labels["000002.jpg"].label == "unsure"
    assert labels["000003.jpg"].label == "unusable"
    assert (labels["000005.jpg"].split, labels["000005.jpg"].how) == ("train", "typical")
    assert (labels["000000.jpg"].split, labels["000000.jpg"].how) == ("val", "random")
    assert labelling.crops_for("unsure", budget=2) == [("000002.jpg", "val")]


def test_a_labeller_never_looks_twice_and_answers_are_checked(workspace):
    crops = labelling.crops_for("val", budget=0)
    labelling.start_session("A", crops, tiles=3)
    (labelling.session_folder("A") / "answers.txt").write_text("sheet_000: oc\nsheet_001: o\n")
    with pytest.raises(SystemExit, match="sheet_000 has 3 tiles but 2 answers"):
        labelling.collect("A")
    (labelling.session_folder("A") / "answers.txt").write_text("sheet_000: ocx\nsheet_001: o\n")
    with pytest.raises(SystemExit, match="unknown letters"):
        labelling.collect("A")
    answer("A", dict.fromkeys([f for f, _ in crops], "o"))
    labelling.collect("A")
    with pytest.raises(SystemExit, match="already"):
        labelling.start_session("A", crops)
    with pytest.raises(SystemExit, match="no open session"):
        labelling.collect("A")  # collecting twice would count the looks twice


def test_a_collect_that_fails_writes_nothing_and_an_open_session_is_never_wiped(workspace, monkeypatch):
    crops = labelling.crops_for("val", budget=0)
    labelling.start_session("A", crops, tiles=3)
    answer("A", dict.fromkeys([f for f, _ in crops], "o"))
    with pytest.raises(SystemExit, match="not yet collected"):
        labelling.start_session("A", crops)  # would empty answers.txt
    assert (labelling.session_folder("A") / "answers.txt").read_text().count("o") == 4
    monkeypatch.setenv("EYES_DATASET", str(workspace / "nowhere"))
    with pytest.raises(FileNotFoundError, match="eye pool not found"):
        labelling.collect("A")
    assert read_looks() == [] and read_labels() == []  # nothing recorded, so collecting again counts once
    monkeypatch.setenv("EYES_DATASET", str(workspace / "pool"))
    assert labelling.collect("A") == 4 and len(read_looks()) == 4


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ("sheet_000 oco\nsheet_001: o\n", "line 1: expected 'sheet_NNN: letters'"),
        (": oco\nsheet_001: o\n", "line 1: expected"),
        ("sheet_000: oco\nsheet_000: ccc\nsheet_001: o\n", "line 2: sheet_000 answered twice"),
    ],
)
def test_an_answers_line_that_cannot_be_read_is_named(workspace, answers, message):
    labelling.start_session("A", labelling.crops_for("val", budget=0), tiles=3)
    (labelling.session_folder("A") / "answers.txt").write_text(answers)
    with pytest.raises(SystemExit, match=message):
        labelling.collect("A")


def test_old_rounds_are_kept_but_count_for_nothing(workspace):
    data.write_looks([Look("000000.jpg", "val", "v1", "dev", "closed")] * 2)
    labelling.start_session("A", [("000000.jpg", "val")])
    answer("A", {"000000.jpg": "o"})
    labelling.collect("A")
    assert [look.round for look in read_looks()] == ["v1", "v1", data.ROUND]
    assert read_labels()[0].label == "unsure"  # one current look is not a label, whatever v1 said


def test_typical_picks_are_nested_distinct_and_never_excluded():
    from training.select import selection_queue

    rng = np.random.default_rng(0)
    embedding = rng.normal(size=(300, 8))
    embedding /= np.linalg.norm(embedding, axis=1, keepdims=True)
    excluded = set(range(0, 300, 7))
    queue = selection_queue(embedding, excluded, budgets=(5, 20, 40))
    picks = [index for index, _ in queue]
    assert len(picks) == 40 and len(set(picks)) == 40
    assert not excluded & set(picks)
    assert selection_queue(embedding, excluded, budgets=(5, 20))[:5] == queue[:5]  # the first k are the k-selection
