"""The committed labels, the EER metric, and the committed weights measured on the committed validation labels."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.data import LABEL_VALUES, decide, labelled, load_pool, pool_dir, read_labels, read_looks, validation_set
from classifier.inference import load_model
from classifier.labelling import train_queue, validation_draw
from classifier.metrics import accuracy_f1, eer, eer_interval

# The shipped model's validation EER must stay at or under this. The 2 % target is not reached
# against these hand labels (see reports/README.md); this bound catches any regression from what we ship.
EER_BOUND = 0.08


def test_eer_of_perfect_inverted_and_known_scores():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert eer(y, np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]))[0] == 0.0
    assert eer(y, np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1]))[0] == 1.0
    # one closed eye scored above every open one: 1 of 4 false accepts at the point with 1 of 4 false rejects
    assert eer(y, np.array([0.1, 0.2, 0.3, 0.95, 0.6, 0.7, 0.8, 0.9]))[0] == pytest.approx(0.25)


def test_eer_interval_contains_the_estimate():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    scores = y + rng.normal(0, 0.6, 300)
    low, high = eer_interval(y, scores, rounds=200)
    assert low <= eer(y, scores)[0] <= high
    assert 0 < low < high < 0.5


def test_accuracy_and_f1():
    assert accuracy_f1(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])) == pytest.approx((0.75, 2 / 3))


def test_label_file_is_well_formed_and_splits_are_disjoint():
    rows = read_labels()
    assert all(r.label in LABEL_VALUES for r in rows)
    files = [r.file for r in rows]
    assert len(files) == len(set(files)), "one decision per image"
    val = {r.file for r in rows if r.split == "val"}
    train = {r.file for r in rows if r.split == "train"}
    assert not val & train
    assert len(labelled("val")) >= 400
    assert all(r.how == "random" for r in rows if r.split == "val")
    assert all(r.how != "random" for r in rows if r.split == "train")


def test_every_label_is_the_majority_of_at_least_two_blind_looks():
    looks = read_looks()
    rows = read_labels()
    assert {r.file for r in rows} == set(looks)
    assert all(r.label == decide(looks[r.file]) for r in rows)
    assert all(len(looks[r.file]) >= 2 for r in rows)
    # a split pair of looks is always settled by a further look
    assert all(len(looks[r.file]) > 2 for r in rows if looks[r.file][0] != looks[r.file][1])
    usable = [v for v in looks.values() if "unusable" not in v[:2]]
    agree = sum(v[0] == v[1] for v in usable)
    assert 0.85 * len(usable) <= agree < len(usable)  # real second looks: mostly the same, not a copy


@pytest.mark.skipif(not pool_dir().is_dir(), reason="eye pool not present")
def test_validation_is_the_seeded_random_draw_and_training_never_overlaps_it():
    from classifier.data import pool_files

    draw = set(validation_draw(pool_files()))
    assert {r.file for r in read_labels() if r.split == "val"} <= draw
    assert not draw & {name for name, _ in train_queue()}


@pytest.mark.skipif(not pool_dir().is_dir(), reason="eye pool not present")
def test_committed_weights_reach_the_validation_eer_bound():
    _, val_images, y = validation_set(*load_pool())
    p = load_model().probabilities(val_images)
    value, _ = eer(y, p)
    accuracy, _ = accuracy_f1(y, p >= 0.5)
    assert value <= EER_BOUND, f"validation EER {value:.2%} over {EER_BOUND:.0%}"
    assert accuracy >= 1 - EER_BOUND - 0.02


@pytest.mark.parametrize("student", [False, True], ids=["teacher", "student"])
def test_numpy_engine_matches_the_trained_torch_network(tmp_path, student):
    torch = pytest.importorskip("torch")
    from classifier.distill import STUDENT_WIDTH
    from classifier.engine import NumpyEyeNet, export_arrays
    from classifier.model import STUDENT_DEPTH, EyeNet

    torch.manual_seed(0)
    net = EyeNet(STUDENT_WIDTH, STUDENT_DEPTH) if student else EyeNet()  # the shapes that ship and that teach
    net.train()
    for _ in range(3):  # give BatchNorm non-trivial running statistics to fold
        net(torch.rand(32, 1, 24, 24))
    net.eval()
    images = np.random.default_rng(0).random((40, 24, 24), dtype=np.float32)
    with torch.no_grad():
        expected = net(torch.from_numpy(images).unsqueeze(1)).numpy()
    np.savez(tmp_path / "net.npz", **export_arrays(net, {"note": "test"}))
    engine = NumpyEyeNet(tmp_path / "net.npz")
    np.testing.assert_allclose(engine.logits(images), expected, atol=1e-4)
    assert engine.meta == {"note": "test"}
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    folded = sum(c.weight.numel() + c.out_channels for c in convs) + net.head.weight.numel() + 1  # BN → conv bias
    assert engine.parameters == folded


def test_label_consistency_measures_the_model_on_settled_crops_only(monkeypatch):
    from classifier import report
    from classifier.data import Label

    looks = {"a": ["open", "open"], "b": ["closed", "closed"], "c": ["open", "closed", "closed"], "d": ["open"] * 2}
    monkeypatch.setattr(report, "read_looks", lambda: looks)
    monkeypatch.setattr(report, "read_labels", lambda: [Label(n, decide(v), "val", "random") for n, v in looks.items()])
    y = np.array([1, 0, 0, 1])
    scores = np.array([0.9, 0.1, 0.8, 0.7])  # wrong only on "c", the crop the looks split on
    c = report.label_consistency(["a", "b", "c", "d"], y, scores)
    assert (c["settled"], c["model_right_settled"], c["decided_by_third"], c["model_right_decided"]) == (3, 3, 1, 0)
    assert c["first_two_differ"] == 1 and c["eer_settled"] == 0.0
    c = report.label_consistency(["a", "b", "c", "d"], y, np.array([0.9, 0.95, 0.8, 0.7]))  # "b" now wrong
    assert c["model_right_settled"] == 2 and c["eer_settled"] > 0.0
