"""The long measurements behind the report: the label-budget curve and what each ingredient of the recipe buys.

    python -m training.experiments                # every run not yet in reports/experiments.json (≈ 1 h for all 13)
    python -m training.experiments --seeds 0 1 2  # the budget curve over three seeds (≈ 3 h more)

Each run is the training pipeline (``training.train``) with one thing changed, measured on the validation labels
(all usable crops, and the unanimous ones). Results are appended to ``reports/experiments.json`` as each run
ends, with the date and commit, so an interrupted sweep resumes where it stopped; ``python -m training.report``
shows them.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json

import numpy as np
import torch
from tqdm import tqdm

from training.data import REPO, load_pool
from training.export import commit
from training.pretrain import embed
from training.train import Recipe, Yardstick, predict, pretrained_encoder, train, training_labels, training_rows

EXPERIMENTS_JSON = REPO / "reports" / "experiments.json"
BUDGETS = (10, 20, 50, 100, 200, 400)
SHIPPED = Recipe()


def ablations() -> dict[str, tuple[Recipe, str]]:
    """One change each from the shipped recipe at the shipped budget: ``{name: (recipe, labels)}``, where labels
    is "queue" (the first 200 of the queue, as shipped) or "typical" (200 typical crops, no boundary cases)."""
    fixmatch = SHIPPED.fixmatch
    return {
        "FixMatch for 3000 steps instead of 1000": (
            dataclasses.replace(SHIPPED, fixmatch=dataclasses.replace(fixmatch, steps=3000)),
            "queue",
        ),
        "FixMatch for 300 steps (the earlier recipe's length)": (
            dataclasses.replace(SHIPPED, fixmatch=dataclasses.replace(fixmatch, steps=300)),
            "queue",
        ),
        "no distribution alignment (open share left to the labels)": (
            dataclasses.replace(SHIPPED, fixmatch=dataclasses.replace(fixmatch, open_share=None)),
            "queue",
        ),
        "pretraining for 30 epochs (the earlier recipe's length)": (
            dataclasses.replace(SHIPPED, simclr=dataclasses.replace(SHIPPED.simclr, epochs=30)),
            "queue",
        ),
        "200 typical crops, no boundary cases": (SHIPPED, "typical"),
        "a 23k-parameter student (one convolution per stage) learns from the fine-tuned model": (
            dataclasses.replace(SHIPPED, student=dataclasses.replace(SHIPPED.student, depth=1)),
            "queue",
        ),
    }


def typical_labels(count: int) -> dict[str, int]:
    """Hand labels of the first ``count`` typical crops of the queue (boundary cases skipped)."""
    from training.data import labelled
    from training.labelling import train_queue

    known = labelled("train")
    typical = [name for name, reason in train_queue() if not reason.startswith("boundary")][:count]
    return {name: known[name] for name in typical if name in known}


def done() -> list[dict]:
    return json.loads(EXPERIMENTS_JSON.read_text()) if EXPERIMENTS_JSON.exists() else []


def record(entry: dict) -> None:
    runs = done() + [entry | {"date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"), "commit": commit()}]
    EXPERIMENTS_JSON.write_text(json.dumps(runs, indent=1))


def linear_probe(encoder, images: np.ndarray, labels: dict[str, int], names: list[str], yardstick: Yardstick) -> dict:
    """The pretrained trunk's features read by a logistic regression on the hand labels: no fine-tuning at all."""
    from sklearn.linear_model import LogisticRegression

    position = {name: i for i, name in enumerate(names)}
    features = embed(encoder, images)
    model = LogisticRegression(C=1.0, max_iter=5000).fit(features[[position[n] for n in labels]], list(labels.values()))
    return yardstick.figures(model.predict_proba(embed(encoder, yardstick.images))[:, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds of the budget curve (default 0)")
    args = parser.parse_args()
    torch.set_num_threads(2)
    names, images = load_pool()
    yardstick = Yardstick(names, images)
    rows = training_rows(names)
    have = {(run["kind"], run["name"], run["seed"]) for run in done()}
    plan = [("budget", str(k), seed, k, SHIPPED, "queue") for seed in args.seeds for k in BUDGETS]
    plan += [("ablation", name, 0, 200, recipe, labels) for name, (recipe, labels) in ablations().items()]
    plan += [("ablation", "linear probe on the pretrained features (no fine-tuning)", 0, 200, None, "queue")]
    todo = [step for step in plan if step[:3] not in have]
    for kind, name, seed, budget, recipe, which in tqdm(todo, desc="experiments", unit="run"):
        labels = training_labels(budget) if which == "queue" else typical_labels(budget)
        if recipe is None:
            encoder, _ = pretrained_encoder(images[rows], SHIPPED.simclr, 0, progress=False)
            figures = linear_probe(encoder, images, labels, names, yardstick)
            teacher_figures = None
        else:
            student, facts = train(budget, recipe, seed, progress=False, pool=(names, images), labels=labels)
            figures = yardstick.figures(predict(student, yardstick.images))
            teacher_figures = facts["teacher_validation"]
        record(
            {
                "kind": kind,
                "name": name,
                "seed": seed,
                "budget": budget,
                "hand_labels": len(labels),
                "validation": figures,
                "teacher_validation": teacher_figures,
            }
        )
        tqdm.write(f"{kind} {name} seed {seed}: EER {figures['eer']:.2%}, unanimous {figures['eer_unanimous']:.2%}")


if __name__ == "__main__":
    main()
