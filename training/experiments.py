"""The long measurements behind the report: the label-budget curve and what each ingredient of the recipe buys.

    python -m training.experiments                # every run not yet measured on today's encoder and recipe (≈ 3 h)
    python -m training.experiments --seeds 0 1 2  # seeds 1, 2 too: own encoders (≈ 2 h; the report shows seed 0)
    python -m training.experiments --threads 1    # one core each (slower, but a second job can have the other)
    python -m training.experiments --only 10 400  # just these runs (by name), e.g. two sweeps side by side
    python -m training.experiments --only 10 --redo  # again, though recorded (say, to keep its network)

Each run is the training pipeline (``training.train``) with one thing changed, measured on the validation labels
(all usable crops, and the unanimous ones). Results go to ``reports/experiments.json`` as each run ends, with the
date, the commit, a fingerprint of the pretrained encoder it started from and a key of the shipped recipe it is a
variation of, so an interrupted sweep resumes where it stopped; a run recorded from another encoder (other
pretraining settings or code) or against another shipped recipe is done again and replaces it.
Each trained run also leaves its network in ``runs/experiments/`` (git-ignored) as an ONNX file that
``classifier.load_model(path)`` opens, so it can be measured on other labels than ours; a run recorded before
(or elsewhere) has none until ``--only NAME --redo`` trains it again.
``python -m training.report`` shows the runs on the shipped encoder and recipe. The encoder is pretrained on
two threads whatever ``--threads`` says, so a 1-thread sweep's runs share it; another seed pretrains its own.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import re
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from training.cli import positive_int, run_main
from training.data import REPO, load_pool
from training.export import commit, export_onnx
from training.pretrain import embed, linear_probe
from training.train import (
    BUDGET,
    RUNS,
    SEED,
    TRAINING_JSON,
    Recipe,
    Yardstick,
    fingerprint,
    metadata,
    predict,
    pretrained_encoder,
    recipe_key,
    train,
    training_labels,
    training_rows,
    unsure_floor,
)

EXPERIMENTS_JSON = REPO / "reports" / "experiments.json"
NETWORKS = RUNS / "experiments"  # each trained run's network as ONNX (git-ignored): ``classifier.load_model`` opens it
BUDGETS = (10, 20, 50, 100, 200, 400)
SHIPPED = Recipe()
PROBE = "linear probe on the pretrained features (no fine-tuning)"
CLEAN_TARGETS = "the student taught the teachers' answers for the clean crop, not for its view"
PREVIOUS_STUDENT = "the previous student: clean-crop answers, 30 epochs instead of 60 (two changes)"


TUNING_SEEDS = (1, 2)  # the shipped recipe again with these seeds for the teachers and the student: its own spread


def other_seed(seed: int) -> str:
    return f"the shipped recipe again, its teachers and student on seed {seed} (the same encoder)"


BOUNDARY = "the queue's first 200 crops, boundary cases included (the previous recipe's crops)"


def boundary_seed(seed: int) -> str:
    return f"{BOUNDARY}, its teachers and student on seed {seed}"


def ablations() -> dict[str, tuple[Recipe, dict, int | None]]:
    """One change each (the previous student: two) from the shipped recipe at the shipped budget:
    ``{name: (recipe, label options, tuning seed)}``, the options being ``training_labels``'s (typical crops only,
    soft labels, unless said) and the seed ``train``'s ``tuning_seed`` (None: the run's own seed)."""
    fixmatch, student = SHIPPED.fixmatch, SHIPPED.student
    replace = dataclasses.replace
    return {
        CLEAN_TARGETS: (replace(SHIPPED, student=replace(student, consistent=False)), {}, None),
        PREVIOUS_STUDENT: (replace(SHIPPED, student=replace(student, consistent=False, epochs=30)), {}, None),
        "FixMatch for 3000 steps instead of 1500": (replace(SHIPPED, fixmatch=replace(fixmatch, steps=3000)), {}, None),
        "FixMatch for 300 steps": (replace(SHIPPED, fixmatch=replace(fixmatch, steps=300)), {}, None),
        "one FixMatch teacher instead of three": (replace(SHIPPED, teachers=1), {}, None),
        BOUNDARY: (SHIPPED, {"typical_only": False}, None),
        # The one change that beat the shipped recipe's own seeds on misranked pairs: is it the crops or the seed?
        **{boundary_seed(k): (SHIPPED, {"typical_only": False}, k) for k in TUNING_SEEDS},
        "hard labels (the majority) instead of the share of looks": (SHIPPED, {"soft": False}, None),
        **{other_seed(k): (SHIPPED, {}, k) for k in TUNING_SEEDS},
        "a second round of self-training (the student teaches a fresh student)": (replace(SHIPPED, rounds=2), {}, None),
        "FixMatch with FreeMatch's self-adaptive threshold instead of 0.95": (
            replace(SHIPPED, fixmatch=replace(fixmatch, adaptive=True)),
            {},
            None,
        ),
        "the pool taken as 53% open instead of half (alignment and the student's shift)": (
            replace(SHIPPED, fixmatch=replace(fixmatch, open_share=0.53), student=replace(student, open_share=0.53)),
            {},
            None,
        ),
        "open share left to the labels (no class balance, no shift of the targets)": (
            replace(SHIPPED, fixmatch=replace(fixmatch, balance=False), student=replace(student, open_share=None)),
            {},
            None,
        ),
    }


# The order of the sweep (the rest after): the shipped point and the cheap probe, the budget curve's ends and what
# the recipe's main choices (three teachers, typical crops) buy, before the costly 3000-step run.
PRIORITY = {
    name: i
    for i, name in enumerate(
        [
            "200",  # the shipped weights: their figures are read, not trained again
            PROBE,
            CLEAN_TARGETS,
            PREVIOUS_STUDENT,
            "50",
            "one FixMatch teacher instead of three",
            "10",
            BOUNDARY,
            "400",
            "100",
            "hard labels (the majority) instead of the share of looks",
            "open share left to the labels (no class balance, no shift of the targets)",
            "20",
            "FixMatch for 300 steps",
            "FixMatch for 3000 steps instead of 1500",
        ]
    )
}


@dataclasses.dataclass(frozen=True)
class Run:
    """One run of the sweep: the shipped recipe at a label budget, or one change from it at the shipped budget."""

    kind: str  # "budget" or "ablation"
    name: str
    seed: int
    budget: int
    recipe: Recipe | None  # None: the linear probe (no fine-tuning)
    options: dict[str, bool] = dataclasses.field(default_factory=dict)  # ``training_labels``'s
    tuning_seed: int | None = None  # ``train``'s (None: the run's own seed)

    @property
    def key(self) -> tuple[str, str, int]:
        return self.kind, self.name, self.seed

    @property
    def is_shipped(self) -> bool:
        """The shipped weights' own point: their figures are read from ``reports/training.json``, not trained again."""
        shipped = (BUDGET, SEED, SHIPPED, {}, None)
        return (self.budget, self.seed, self.recipe, self.options, self.tuning_seed) == shipped


def network_path(run: Run) -> Path:
    """Where a trained run leaves its network: a file name made of its kind, name and seed."""
    slug = re.sub(r"[^a-z0-9]+", "-", run.name.lower()).strip("-")
    return NETWORKS / f"{run.kind}-{slug}-seed{run.seed}.onnx"


def done() -> list[dict]:
    return json.loads(EXPERIMENTS_JSON.read_text()) if EXPERIMENTS_JSON.exists() else []


def run_key(run: dict) -> tuple[str, str, int]:
    return run["kind"], run["name"], run["seed"]


def record(entry: dict) -> None:
    """Add a run's figures, replacing an earlier run of the same name and seed (from another encoder or recipe)."""
    runs = [run for run in done() if run_key(run) != run_key(entry)]
    # The sweep's own record does not make the code it ran "dirty".
    own = EXPERIMENTS_JSON.relative_to(REPO) if EXPERIMENTS_JSON.is_relative_to(REPO) else None
    stamp = {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"), "commit": commit(own)}
    runs += [entry | stamp]
    EXPERIMENTS_JSON.write_text(sweep_json(runs))


def sweep_json(runs: list[dict]) -> str:
    """JSON with a key per line, but each list of numbers on one line: a run's 480 answers per crop are one line,
    not 480, and a diff still shows which runs changed. Only a bracket followed by a line break opens a list here
    (no JSON string holds a raw line break), so text in strings is never touched."""
    numbers = re.compile(r"\[\n\s*([-+.eE\d,\s]+?)\n\s*\]")
    return numbers.sub(lambda m: "[" + " ".join(m.group(1).split()) + "]", json.dumps(runs, indent=1))


def shipped_run(encoder: str) -> dict | None:
    """The shipped weights' own figures (``reports/training.json``) when they are this sweep's shipped point: the
    same recipe, budget, seed and pretrained encoder give the same weights bit for bit, so that run is not
    repeated."""
    if not TRAINING_JSON.exists():
        return None
    shipped = json.loads(TRAINING_JSON.read_text())
    recipe = json.loads(json.dumps(dataclasses.asdict(SHIPPED)))  # as JSON holds it: tuples become lists
    same = shipped["recipe"] == recipe and (shipped["budget"], shipped["seed"]) == (BUDGET, SEED)
    same = same and shipped.get("encoder") == encoder
    return shipped if same else None


def plan(
    seeds: list[int], recorded: list[dict], encoder: str, only: list[str] | None = None, redo: bool = False
) -> list[Run]:
    """The runs still to do, what tells most first (a sweep may be cut): every budget for each of ``seeds`` and
    every ablation, less those ``recorded`` against today's shipped recipe and, for seed 0, on today's pretrained
    ``encoder`` (another seed pretrains its own encoder, so for it the recipe is all that must match); a run recorded
    on another encoder or against another recipe is not comparable and is done again. ``only``: just these names;
    ``redo``: those even if recorded (to keep their networks, say)."""
    baseline = recipe_key(dataclasses.asdict(SHIPPED))
    have = {
        run_key(run)
        for run in recorded
        if run.get("baseline") == baseline and (run["seed"] != SEED or run.get("encoder") == encoder)
    }
    runs = [Run("budget", str(k), seed, k, SHIPPED) for seed in seeds for k in BUDGETS]
    runs += [Run("ablation", name, SEED, BUDGET, *change) for name, change in ablations().items()]
    runs += [Run("ablation", PROBE, SEED, BUDGET, None)]
    runs.sort(key=lambda run: PRIORITY.get(run.name, len(PRIORITY)))
    if only:
        return [run for run in runs if run.name in only and (redo or run.key not in have)]
    return [run for run in runs if run.key not in have]


def probe_run(
    encoder, images: np.ndarray, labels: dict[str, float], names: list[str], yardstick: Yardstick
) -> np.ndarray:
    """P(open) of the validation crops by the pretrained trunk's features read by a logistic regression on the hand
    labels: no fine-tuning at all."""
    position = {name: i for i, name in enumerate(names)}
    majority = np.array([share >= 0.5 for share in labels.values()])
    labelled = embed(encoder, images[[position[n] for n in labels]])
    return linear_probe(labelled, majority, embed(encoder, yardstick.images))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the budget curve (default 0)")
    parser.add_argument("--threads", type=positive_int, default=2, help="torch threads (default 2, the shipped run's)")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="run only these (budgets or ablation names)")
    parser.add_argument("--redo", action="store_true", help="with --only: train them again even if recorded")
    args = parser.parse_args()
    if args.redo and not args.only:
        parser.error("--redo needs --only: which recorded runs to train again")
    known = [str(k) for k in BUDGETS] + [*ablations(), PROBE]
    if unknown := [name for name in args.only or [] if name not in known]:
        parser.error(f"no run named {unknown[0]!r}; the runs: " + "; ".join(known))
    torch.set_num_threads(args.threads)
    names, images = load_pool()
    yardstick = Yardstick(names, images)
    rows = training_rows(names)
    encoder, _ = pretrained_encoder(images[rows], SHIPPED.simclr, SEED)  # seed 0's runs start from it (cached)
    shipped_encoder, baseline = fingerprint(encoder), recipe_key(dataclasses.asdict(SHIPPED))
    todo = plan(args.seeds, done(), shipped_encoder, args.only, args.redo)
    if args.only and not todo:
        print("every run named is recorded already: add --redo to train them again")
    for run in tqdm(todo, desc="experiments", unit="run"):
        labels = training_labels(run.budget, **run.options)
        shipped = shipped_run(shipped_encoder) if run.is_shipped else None
        run_encoder, run_fidelity, p = shipped_encoder, None, None
        if shipped is not None:
            figures, teacher_figures = shipped["validation"], shipped["teacher_validation"]
            run_fidelity = shipped.get("fidelity")
        elif run.recipe is None:
            p = probe_run(encoder, images, labels, names, yardstick)
            figures, teacher_figures = yardstick.figures(p), None
        else:
            student, facts = train(
                run.budget,
                run.recipe,
                run.seed,
                progress=False,
                pool=(names, images),
                labels=labels,
                threads=args.threads,
                tuning_seed=run.tuning_seed,
            )
            p = predict(student, yardstick.images)
            figures = yardstick.figures(p)
            # Kept so the run can be measured where our labels cannot reach (a hidden test set, say).
            described = metadata(student, facts, figures, unsure_floor(yardstick.y, p)) | {
                "training_labels": f"{len(labels)} hand labels of the first {run.budget} queue crops {run.options}",
                "experiment": f"{run.kind}: {run.name}, seed {run.seed}, tuning seed {run.tuning_seed}",
            }
            export_onnx(student, network_path(run), described)
            teacher_figures, run_encoder, run_fidelity = (
                facts["teacher_validation"],
                facts["encoder"],
                facts["fidelity"],
            )
        record(
            {
                "kind": run.kind,
                "name": run.name,
                "seed": run.seed,
                "budget": run.budget,
                "hand_labels": len(labels),
                "encoder": run_encoder,
                "baseline": baseline,
                "validation": figures,
                "teacher_validation": teacher_figures,
                "fidelity": run_fidelity,
                # P(open) of each validation crop (yardstick order): the report pairs them with the shipped weights'
                "val_p_open": None if p is None else [float(f"{q:.6g}") for q in p],
                "val_crops": yardstick.key,
            }
        )
        eers = f"EER {figures['eer']:.2%}, unanimous {figures['eer_unanimous']:.2%}"
        tqdm.write(f"{run.kind} {run.name} seed {run.seed}: {eers}")


if __name__ == "__main__":
    run_main(main)
