"""The training package: the ONNX file equals the torch network, the pipeline runs end to end and is repeatable,
and the committed weights answer as the report says."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from classifier.model import WEIGHTS, EyeModel  # noqa: E402
from training.data import pool_dir  # noqa: E402
from training.export import describe, export_onnx  # noqa: E402
from training.model import EyeNet  # noqa: E402

needs_pool = pytest.mark.skipif(not pool_dir().is_dir(), reason=f"eye pool not found at {pool_dir()}")


def trained_looking_net(seed: int = 0) -> EyeNet:
    """An EyeNet with BatchNorm statistics that are not the defaults, as after training."""
    torch.manual_seed(seed)
    net = EyeNet().train()
    for _ in range(3):
        net(torch.rand(32, 1, 24, 24))
    return net.eval()


def pool_crops(count: int = 200) -> np.ndarray:
    from training.data import load_pool

    if pool_dir().is_dir():
        return load_pool()[1][:count]
    return np.random.default_rng(0).random((count, 24, 24), dtype=np.float32)


def test_onnx_answers_equal_the_torch_network_to_1e_5(tmp_path):
    net = trained_looking_net()
    images = pool_crops()
    path = export_onnx(net, tmp_path / "net.onnx", describe(net, note="test"))
    model = EyeModel(path)
    with torch.no_grad():
        expected = torch.sigmoid(net(torch.from_numpy(images).unsqueeze(1))).numpy()
    np.testing.assert_allclose(model.probabilities(images), expected, atol=1e-5)
    np.testing.assert_allclose(model.probabilities(images[:1]), expected[:1], atol=1e-5)  # any batch size
    assert model.meta["note"] == "test" and model.parameters == sum(p.numel() for p in net.parameters())


def test_export_is_deterministic_and_same_weights_ignores_the_date(tmp_path):
    from training.train import same_weights

    net = trained_looking_net()
    a = export_onnx(net, tmp_path / "a.onnx", describe(net, trained="2026-01-01"))
    b = export_onnx(net, tmp_path / "b.onnx", describe(net, trained="2026-12-31"))
    assert a.read_bytes() != b.read_bytes() and same_weights(a, b)
    assert b"/training/" not in a.read_bytes(), "the file must not carry this checkout's source paths"
    c = export_onnx(trained_looking_net(seed=1), tmp_path / "c.onnx", describe(net))
    assert not same_weights(a, c)


def test_unsure_floor_is_where_validation_answers_stop_being_reliable():
    from training.train import UNSURE_GRID, unsure_floor

    y = np.array([1] * 50 + [0] * 50)
    confident = np.where(y == 1, 0.99, 0.01)
    assert unsure_floor(y, confident) == UNSURE_GRID[0]  # nothing is unsure: the smallest floor
    p = confident.copy()
    p[:10] = np.linspace(0.32, 0.4, 10)  # ten open eyes called closed at 60-68% confidence: a coin flip there
    assert unsure_floor(y, p) == 0.7


def test_training_labels_are_typical_crops_labelled_with_the_share_of_looks_that_said_open():
    from training.data import looks_by_file, open_share, read_labels, read_looks
    from training.labelling import train_queue
    from training.train import training_labels

    decided = {r.file: r.label for r in read_labels()}
    looks = looks_by_file(read_looks())
    typical = [name for name, reason in train_queue() if not reason.startswith("boundary")][:200]
    labels = training_labels(200)
    assert set(labels) == {name for name in typical if decided.get(name) in ("open", "closed")}
    assert all(labels[name] == open_share(looks[name]) for name in labels)
    assert all((labels[name] >= 0.5) == (decided[name] == "open") for name in labels)
    assert 0 < sum(0 < share < 1 for share in labels.values()) < len(labels)  # some crops split their looks
    hard = training_labels(200, soft=False)
    assert hard == {name: float(decided[name] == "open") for name in labels}
    first = [name for name, _ in train_queue()[:200]]
    with_boundary = training_labels(200, typical_only=False)
    assert set(with_boundary) == {name for name in first if decided.get(name) in ("open", "closed")}
    assert set(with_boundary) != set(labels)


def test_open_share_is_the_soft_label_and_unsure_looks_abstain():
    from training.data import open_share

    assert open_share(["open", "closed", "unsure", "open"]) == 2 / 3
    assert open_share(["closed", "unusable", "closed"]) == 0.0
    with pytest.raises(ValueError):
        open_share(["unsure", "unusable"])


def test_targets_are_shifted_to_the_pools_open_share_keeping_their_order():
    from training.selftrain import share_shift

    logits = np.random.default_rng(0).normal(1.0, 2.0, 1000)  # a teacher that calls ~65% of the pool open
    shifted = logits + share_shift(logits, 0.5)
    assert share_shift(logits, None) == 0.0  # no share asked for: the teachers' answers as they are
    assert np.mean(1 / (1 + np.exp(-shifted))) == pytest.approx(0.5, abs=1e-6)
    assert np.all(np.diff(shifted[np.argsort(logits)]) >= 0)  # one constant: the ranking (and so the EER) stays
    assert np.mean(1 / (1 + np.exp(-logits))) > 0.6


def test_the_teachers_answer_is_their_average_and_an_eye_reads_the_same_mirrored():
    from training.selftrain import ensemble_logits, soft_targets

    images = pool_crops(64)
    a, b = trained_looking_net(0), trained_looking_net(1)
    both = ensemble_logits([a, b], images)
    np.testing.assert_allclose(both, (ensemble_logits([a], images) + ensemble_logits([b], images)) / 2, atol=1e-5)
    np.testing.assert_allclose(ensemble_logits([a, b], images[:, :, ::-1].copy()), both, atol=1e-5)
    p = soft_targets([a, b], images, open_share=0.3)
    assert p.mean() == pytest.approx(0.3, abs=1e-4) and p.dtype == np.float32


def test_the_sweep_orders_every_planned_run_and_takes_the_shipped_point_from_the_training_record(tmp_path, monkeypatch):
    import dataclasses
    import json

    from training import experiments

    planned = {str(k) for k in experiments.BUDGETS} | set(experiments.ablations()) | {experiments.PROBE}
    assert set(experiments.PRIORITY) <= planned  # a misspelt name would silently fall to the end
    record = tmp_path / "training.json"
    monkeypatch.setattr(experiments, "TRAINING_JSON", record)
    assert experiments.shipped_run("abc") is None
    recipe = json.loads(json.dumps(dataclasses.asdict(experiments.SHIPPED)))
    shipped = {"recipe": recipe, "budget": experiments.BUDGET, "seed": 0, "encoder": "abc", "validation": {"eer": 0.07}}
    record.write_text(json.dumps(shipped))
    assert experiments.shipped_run("abc")["validation"] == {"eer": 0.07}
    assert experiments.shipped_run("def") is None  # the same recipe on another pretrained encoder: other weights
    recipe["fixmatch"]["steps"] += 1  # trained some other way: its figures are not the shipped point's
    record.write_text(json.dumps(shipped | {"recipe": recipe}))
    assert experiments.shipped_run("abc") is None


def test_the_sweep_record_keeps_each_list_of_numbers_on_one_line_and_reads_back_the_same():
    from training.experiments import sweep_json

    runs = [
        {"name": "a", "val_p_open": [0.5, 1e-05, 0.25], "validation": {"eer": 0.07, "ci": [-0.01, 0.02]}},
        {"name": "b [ 3, 4 ]", "val_p_open": None, "recipe": {"teachers": 3, "names": ["x", "y"]}},
    ]
    text = sweep_json(runs)
    assert json.loads(text) == runs
    assert '"val_p_open": [0.5, 1e-05, 0.25]' in text and '"ci": [-0.01, 0.02]' in text
    assert '"names": [\n' in text  # lists of strings keep the usual layout
    assert '"b [ 3, 4 ]"' in text  # and text in strings is never touched


def test_the_sweep_plans_only_what_is_not_yet_measured_on_todays_encoder_and_recipe():
    import dataclasses

    from training import experiments
    from training.train import recipe_key

    baseline = recipe_key(dataclasses.asdict(experiments.SHIPPED))
    every = experiments.plan([0, 1], [], "enc")
    assert len(every) == 2 * len(experiments.BUDGETS) + len(experiments.ablations()) + 1
    assert every[0].name == "200" and every[0].is_shipped  # the shipped point first: it costs nothing
    assert [run.is_shipped for run in every].count(True) == 1  # budget 200 on seed 1 is a run of its own
    order = [experiments.PRIORITY.get(run.name, len(experiments.PRIORITY)) for run in every]
    assert order == sorted(order)  # what tells most first
    recorded = [
        {"kind": "budget", "name": "10", "seed": 0, "encoder": "enc", "baseline": baseline},  # done: skipped
        {"kind": "budget", "name": "20", "seed": 0, "encoder": "old", "baseline": baseline},  # another encoder: again
        {"kind": "budget", "name": "50", "seed": 0, "encoder": "enc", "baseline": "earlier"},  # another recipe: again
        {"kind": "budget", "name": "10", "seed": 1, "encoder": "its own", "baseline": baseline},  # seed 1's: skipped
    ]
    left = {run.key for run in experiments.plan([0, 1], recorded, "enc")}
    assert left == {run.key for run in every} - {("budget", "10", 0), ("budget", "10", 1)}
    only = experiments.plan([0, 1], recorded, "enc", only=["10", "20", experiments.PROBE])
    assert [run.key for run in only] == [("ablation", experiments.PROBE, 0), ("budget", "20", 0), ("budget", "20", 1)]
    assert only[0].recipe is None  # the probe: no fine-tuning
    again = experiments.plan([0, 1], recorded, "enc", only=["10", "20"], redo=True)
    assert [run.key for run in again] == [
        ("budget", "10", 0),
        ("budget", "10", 1),
        ("budget", "20", 0),
        ("budget", "20", 1),
    ]
    networks = [experiments.network_path(run) for run in every]
    assert len(set(networks)) == len(every)  # each run keeps its own network file
    assert all(path.parent == experiments.NETWORKS and path.suffix == ".onnx" for path in networks)
    assert experiments.network_path(every[0]).name == "budget-200-seed0.onnx"


def test_the_adaptive_threshold_starts_low_and_asks_less_of_the_class_the_network_answers_less():
    from training.semisup import AdaptiveThreshold

    threshold = AdaptiveThreshold(ema=0.9)
    # Early on, a 60 %-sure answer counts (the fixed threshold would want 95 %).
    assert threshold(torch.tensor([0.6, 0.6])).tolist() == [True, True]
    for _ in range(100):  # then a network very sure of open eyes and hesitant about closed ones
        threshold(torch.tensor([0.99, 0.99, 0.99, 0.3]))
    assert threshold.confidence > 0.8
    # A 75 %-sure closed answer now counts, a 75 %-sure open one does not.
    assert threshold(torch.tensor([0.25, 0.75])).tolist() == [True, False]


@needs_pool
def test_the_pipeline_runs_end_to_end_and_twice_gives_the_same_network(tmp_path, monkeypatch):
    """A tiny recipe on a slice of the pool: every stage runs, records its curve, and a rerun is bit-identical."""
    from training import train as pipeline
    from training.data import load_pool
    from training.pretrain import SimCLR
    from training.selftrain import NoisyStudent
    from training.semisup import FixMatch

    monkeypatch.setattr(pipeline, "RUNS", tmp_path)
    names, images = load_pool()
    tiny = (SimCLR(epochs=1, batch=128), FixMatch(steps=250, batch=16), NoisyStudent(epochs=1))
    recipe = pipeline.Recipe(*tiny, teachers=2)
    first, facts = pipeline.train(recipe=recipe, pool=(names, images), progress=False)
    assert [len(facts["history"][stage]) for stage in ("fine_tuning", "self_training")] == [2, 1]
    assert [entry["teacher"] for entry in facts["history"]["fine_tuning"]] == [0, 1]
    assert 0 <= facts["history"]["fine_tuning"][0]["eer"] <= 1
    again, _ = pipeline.train(recipe=recipe, pool=(names, images), progress=False)  # the encoder from the cache
    for a, b in zip(first.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert len(list(tmp_path.glob("encoder-*.pt"))) == 1
    threads = torch.get_num_threads()
    try:
        next(tmp_path.glob("encoder-*.pt")).unlink()  # pretrain again, asked from one thread
        _, one_thread = pipeline.train(recipe=recipe, pool=(names, images), progress=False, threads=1)
    finally:
        torch.set_num_threads(threads)
    # The encoder is pretrained on the shipped thread count whatever the caller's: the same numbers, one cache file.
    assert one_thread["encoder"] == facts["encoder"]
    assert len(list(tmp_path.glob("encoder-*.pt"))) == 1


@needs_pool
def test_a_second_round_is_taught_by_the_first_student_and_the_tuning_seed_leaves_the_encoder(tmp_path, monkeypatch):
    from training import train as pipeline
    from training.data import load_pool
    from training.pretrain import SimCLR
    from training.selftrain import NoisyStudent
    from training.semisup import FixMatch

    monkeypatch.setattr(pipeline, "RUNS", tmp_path)
    pool = load_pool()
    tiny = (SimCLR(epochs=1, batch=128), FixMatch(steps=50, batch=16, adaptive=True), NoisyStudent(epochs=1))
    one = pipeline.Recipe(*tiny, teachers=1)
    first, facts = pipeline.train(recipe=one, pool=pool, progress=False)
    second, two = pipeline.train(recipe=dataclasses.replace(one, rounds=2), pool=pool, progress=False)
    # The first round is the one-round run itself; the second is taught by its student, not by the FixMatch run.
    first_round = [{k: v for k, v in entry.items() if k != "round"} for entry in two["history"]["self_training"]]
    assert [entry["round"] for entry in two["history"]["self_training"]] == [1, 2]
    assert first_round[0] == facts["history"]["self_training"][0]
    assert two["teacher_validation"] != facts["teacher_validation"]
    assert not torch.equal(first.head.weight, second.head.weight)
    # Another tuning seed: other teachers, on the same pretrained encoder (one cache file).
    _, reseeded = pipeline.train(recipe=one, pool=pool, progress=False, tuning_seed=1)
    assert reseeded["encoder"] == facts["encoder"] and len(list(tmp_path.glob("encoder-*.pt"))) == 1
    assert reseeded["teacher_validation"] != facts["teacher_validation"]
    with pytest.raises(ValueError, match="at least one round"):
        pipeline.train(recipe=dataclasses.replace(one, rounds=0), pool=pool, progress=False)


@needs_pool
@pytest.mark.skipif(not WEIGHTS.is_file(), reason="no committed weights")
def test_committed_weights_reach_the_validation_figures_they_carry():
    """The weights file says what it scored on validation; the labels committed beside it give that score again."""
    import json

    from training.data import load_pool
    from training.train import Yardstick

    model = EyeModel()
    carried = json.loads(model.meta["validation"])
    yardstick = Yardstick(*load_pool())
    figures = yardstick.figures(model.probabilities(yardstick.images))
    assert figures["eer"] == pytest.approx(carried["eer"], abs=1e-4)
    assert figures["eer_unanimous"] == pytest.approx(carried["eer_unanimous"], abs=1e-4)
    assert figures["eer"] <= 0.09 and figures["eer_unanimous"] <= 0.03  # a regression bound under what ships


def test_a_rerun_replaces_its_sweep_entry_and_the_report_shows_the_shipped_encoder_and_recipes_runs_only(
    tmp_path, monkeypatch
):
    import dataclasses
    import json

    from training import experiments, report
    from training.train import recipe_key

    runs, record = tmp_path / "experiments.json", tmp_path / "training.json"
    for module in (experiments, report):
        monkeypatch.setattr(module, "EXPERIMENTS_JSON", runs)
    monkeypatch.setattr(report, "TRAINING_JSON", record)
    shipped, earlier = {"student": {"epochs": 60}}, {"student": {"epochs": 30}}
    figures = {"eer": 0.08, "eer_unanimous": 0.02, "accuracy": 0.9}
    entry = {"kind": "ablation", "seed": 0, "budget": 200, "hand_labels": 194, "validation": figures}
    today = {"encoder": "new", "baseline": recipe_key(shipped)}
    experiments.record(entry | {"name": "hard labels", "encoder": "old", "baseline": recipe_key(shipped)})
    experiments.record(entry | {"name": "one teacher", "encoder": "old", "baseline": recipe_key(shipped)})
    experiments.record(entry | {"name": "no balance", "encoder": "new", "baseline": recipe_key(earlier)})
    yardstick = SimpleNamespace(
        y=np.tile([0, 1], 20), key="these crops", unanimous=np.ones(40, dtype=bool), relooked=np.zeros(40, dtype=bool)
    )
    shipped_p = np.linspace(0.2, 0.8, 40)  # half the crops misranked
    answers = {"val_crops": "these crops"}
    # redone on today's encoder, keeping each crop's answer: the shipped weights' own, so no difference at all
    experiments.record(entry | {"name": "hard labels", "val_p_open": list(shipped_p)} | answers | today)
    experiments.record(entry | {"name": "one teacher"} | today)  # recorded before runs kept their answers
    right = list(0.2 + 0.6 * yardstick.y)  # every crop right: far better than the shipped answers
    experiments.record(entry | {"name": "all right", "val_p_open": right} | answers | today)
    # the same answers, recorded against other validation crops: they pair with nothing here
    experiments.record(entry | {"name": "other crops", "val_p_open": right, "val_crops": "other"} | today)
    assert [(r["name"], r["encoder"]) for r in experiments.done()] == [
        ("no balance", "new"),
        ("hard labels", "new"),
        ("one teacher", "new"),
        ("all right", "new"),
        ("other crops", "new"),
    ]
    experiments.record(entry | {"name": "one FixMatch step", "encoder": "old", "baseline": recipe_key(shipped)})
    record.write_text(json.dumps({"encoder": "new", "recipe": shipped}))
    section = report.Report()
    report.experiments_section(section, yardstick, shipped_p)
    text = "\n".join(section.sections["experiments"])
    # Another encoder's run and a variation of an earlier recipe are both left out.
    assert "| hard labels | 8.00% | +0.0 to +0.0 |" in text and "| one teacher | 8.00% | – |" in text
    hard_labels = next(line for line in text.splitlines() if line.startswith("| hard labels |"))
    assert hard_labels.split(" | ")[4] == "+0.00 to +0.00"  # the shipped answers again: no pair ranked otherwise
    assert "| all right | 8.00% | −" in text  # lower than the shipped EER: a negative difference
    all_right = next(line for line in text.splitlines() if line.startswith("| all right |"))
    cells = [cell.strip() for cell in all_right.strip("|").split("|")]
    assert cells[3] == "0.00%" and cells[4].startswith("−")  # no pair misranked: fewer than the shipped answers
    assert "| other crops | 8.00% | – |" in text
    assert "no balance" not in text and "one FixMatch step" not in text
    assert "Left out: 2 of 6 recorded runs" in text
    assert recipe_key(shipped) != recipe_key(earlier)
    shipped_recipe = dataclasses.asdict(experiments.SHIPPED)  # as the sweep keys it, and as training.json holds it
    assert recipe_key(json.loads(json.dumps(shipped_recipe))) == recipe_key(shipped_recipe)


def test_where_runs_differ_tells_each_kind_of_crop_apart():
    from training.report import where_runs_differ, where_runs_differ_lines

    rng = np.random.default_rng(0)
    y = np.tile([0, 1], 60)
    relooked = np.arange(120) >= 80  # the last 40 crops needed more looks; the first 60 are also unanimous
    yardstick = SimpleNamespace(y=y, unanimous=np.arange(120) < 60, relooked=relooked)
    shipped = np.clip(0.5 + (y - 0.5) * 0.2 + rng.normal(0, 0.15, 120), 0, 1)  # some pairs misranked everywhere
    mended_where_unsure = np.where(relooked, y.astype(float), shipped)  # every pair right on the relooked crops
    worse_where_sure = np.where(relooked, shipped, 1 - shipped)  # every decided crop's ranking turned round
    rows = where_runs_differ(
        yardstick, shipped, {"same": shipped, "mended": mended_where_unsure, "worse": worse_where_sure}
    )
    unanimous, decided, unsure = rows
    assert [r["n"] for r in rows] == [60, 80, 40]
    assert unsure["lowest"] == ("mended", 0.0) and unsure["below"] == ["mended"] and unsure["above"] == []
    assert unanimous["below"] == [] and unanimous["above"] == ["worse"] and decided["above"] == ["worse"]
    assert unanimous["highest"][0] == "worse" and unanimous["shipped"] > 0
    table = "\n".join(where_runs_differ_lines(rows))
    assert "| needed more looks (the labels least sure) | 40 | " in table and "| 1 / 0 / 2 |" in table
    assert "| 0 / 1 / 2 |" in table


def test_recipes_across_seeds_line_up_each_recipes_own_seeds():
    from training.experiments import BOUNDARY, boundary_seed, other_seed
    from training.report import seed_families, seed_families_lines

    y = np.tile([0, 1], 20)
    yardstick = SimpleNamespace(y=y, unanimous=np.arange(40) < 20)
    right, wrong = 0.2 + 0.6 * y, 0.8 - 0.6 * y  # every pair ranked right; every pair the wrong way round
    rows = seed_families(yardstick, wrong, {other_seed(2): right, BOUNDARY: right, boundary_seed(1): wrong})
    assert [(r["recipe"], r["seeds"]) for r in rows] == [
        ("the shipped recipe", [0, 2]),  # the shipped answers are seed 0's
        ("boundary cases included", [0, 1]),
    ]
    assert rows[0]["misranked"] == [1.0, 0.0] and rows[1]["misranked_unanimous"] == [0.0, 1.0]
    assert "| the shipped recipe | 100.00% / 0.00% | 100.00% / 0.00% |" in "\n".join(seed_families_lines(rows))
    assert seed_families(yardstick, wrong, {BOUNDARY: right}) == []  # one seed each: nothing to line up


def constant_teacher(logit: float) -> EyeNet:
    """A "teacher" that answers ``logit`` for every crop."""
    net = trained_looking_net()
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.fill_(logit)
    return net


def test_the_student_learns_the_teachers_answer_for_the_view_it_sees_and_a_hand_label_whatever_the_view(monkeypatch):
    from training import selftrain
    from training.selftrain import NoisyStudent, noisy_student

    images = pool_crops(64)
    asked, views, targets = [], [], []
    answer, augment, loss = selftrain.ensemble_answer, selftrain.augment, selftrain.F.binary_cross_entropy_with_logits

    def asking(teachers: list[EyeNet], x: torch.Tensor) -> torch.Tensor:
        asked.append(x.clone())
        return answer(teachers, x)

    def viewing(x: torch.Tensor, strength: float, generator: torch.Generator) -> torch.Tensor:
        views.append(augment(x, strength, generator))
        return views[-1]

    def learning(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        targets.append(target.clone())
        return loss(logits, target)

    monkeypatch.setattr(selftrain, "ensemble_answer", asking)
    monkeypatch.setattr(selftrain, "augment", viewing)
    monkeypatch.setattr(selftrain.F, "binary_cross_entropy_with_logits", learning)
    recipe = NoisyStudent(epochs=3, batch=16, lr=1e-2, open_share=None)
    teacher = constant_teacher(4.0)  # sure that every crop is open
    clean = torch.from_numpy(images).unsqueeze(1)
    closed_half = {row: 0.0 for row in range(0, 64, 2)}
    noisy_student(trained_looking_net(1), [teacher], images, closed_half, recipe, progress=False)
    # The teachers saw the clean crops once (for the pool's shift), then exactly the view the student saw, each step.
    assert torch.equal(asked[0], clean) and len(asked) == 1 + len(views) == 1 + 3 * (64 // 16)
    assert all(torch.equal(question, view) for question, view in zip(asked[1:], views, strict=True))
    # Each epoch covers the 64 crops: the 32 hand-labelled ones learn their label, the rest the teacher's answer.
    epoch = torch.cat(targets[:4])
    assert (epoch == 0.0).sum() == 32 and torch.allclose(epoch[epoch > 0], torch.sigmoid(torch.tensor(4.0)))
    asked.clear()
    previous = NoisyStudent(epochs=1, batch=16, consistent=False)
    noisy_student(trained_looking_net(1), [teacher], images, {}, previous, progress=False)
    assert len(asked) == 1  # the previous distillation: the teachers see the clean crops only


def test_fidelity_is_the_students_log_odds_gap_to_its_teachers_shifted_as_in_training():
    from training.selftrain import fidelity

    images = pool_crops(64)
    teacher = trained_looking_net(0)
    same = fidelity(teacher, [teacher], images, images, None)  # the teachers' side also reads the mirror image
    assert same["gap"] == pytest.approx(0.0, abs=1e-2) and same["disagreement"] <= 0.05
    sure = constant_teacher(3.0)
    figures = fidelity(constant_teacher(1.0), [sure], images, images, None)
    assert figures["gap"] == pytest.approx(2.0, abs=1e-5) and figures["disagreement"] == 0.0
    # Shifted to a pool that is half open, the teacher's 3.0 becomes 0.0: the gap is the student's own 1.0.
    assert fidelity(constant_teacher(1.0), [sure], images, images, 0.5)["gap"] == pytest.approx(1.0, abs=1e-4)
    assert fidelity(constant_teacher(-1.0), [sure], images, images, None)["disagreement"] == 1.0


def test_the_commit_is_dirty_when_the_tree_changed_except_for_the_file_ignored(tmp_path, monkeypatch):
    import subprocess

    from training import export

    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "code.py").write_text("a = 1\n")
    (tmp_path / "record.json").write_text("[]\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "first"], check=True)
    monkeypatch.setattr(export, "REPO", tmp_path)
    clean = export.commit()
    assert clean and not clean.endswith("-dirty")
    (tmp_path / "record.json").write_text("[1]\n")
    assert export.commit() == clean + "-dirty"
    assert export.commit("record.json") == clean  # a sweep's own record
    (tmp_path / "code.py").write_text("a = 2\n")
    assert export.commit("record.json") == clean + "-dirty"


# ---- the commands' edges: bad inputs are one line, found before any training ---------------------------------


def run_command(*args: str, env: dict[str, str] | None = None):
    import os
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    environment = {**os.environ, "PYTHONPATH": str(repo), **(env or {})}
    return subprocess.run([sys.executable, *args], cwd=repo, capture_output=True, text=True, env=environment)


@pytest.mark.parametrize(
    ("args", "status", "said"),
    [
        (["-m", "training.train", "--budget", "0"], 2, "--budget: must be at least 1, got 0"),
        (
            ["-m", "training.train", "--check", "--out", "/no/such.onnx"],
            1,
            "error: --check compares with /no/such.onnx",
        ),
        (["-m", "training.experiments", "--only", "nosuch"], 2, "no run named 'nosuch'; the runs: 10; 20;"),
        (["-m", "training.experiments", "--redo"], 2, "--redo needs --only"),
        (["-m", "training.experiments", "--threads", "0"], 2, "--threads: must be at least 1"),
        (["-m", "training.labelling", "session", "A", "--tiles", "0"], 2, "--tiles: must be at least 1"),
    ],
)
def test_a_bad_command_line_is_refused_at_once_in_one_line(args, status, said):
    result = run_command(*args)
    assert result.returncode == status and "Traceback" not in result.stderr, result.stderr
    assert said in result.stderr


def test_a_missing_or_other_pool_is_one_line_and_never_trains_on_validation_crops(tmp_path):
    from training.data import pool_files
    from training.train import training_rows

    result = run_command("-m", "training.train", env={"EYES_DATASET": str(tmp_path / "nowhere")})
    assert result.returncode == 1 and result.stderr.strip().splitlines()[-1].startswith("error: eye pool not found")
    assert "Traceback" not in result.stderr
    names = pool_files()
    assert len(training_rows(names)) == len(names) - 500  # the pool the labels were made on
    with pytest.raises(ValueError, match="not the one the labels were made on"):
        training_rows([*names, "zzz_extra.jpg"])  # one crop more draws other validation crops
    with pytest.raises(ValueError, match="fewer than the 500 the validation draw takes"):
        training_rows(names[:100])


def test_fine_tuning_refuses_labels_of_one_class_before_any_training():
    from training.data import labelled, load_pool
    from training.train import train

    one_class = {name: 1.0 for name, is_open in labelled("train").items() if is_open}
    with pytest.raises(ValueError, match="not both open and closed"):
        train(pool=load_pool(), labels=dict(list(one_class.items())[:5]), progress=False)


def test_a_label_file_with_another_header_is_named(tmp_path):
    from training.data import read_labels

    wrong = tmp_path / "labels.csv"
    wrong.write_text("name,label,split,how\n000001.jpg,open,val,random\n")
    with pytest.raises(ValueError, match="labels.csv: no file column"):
        read_labels(wrong)
