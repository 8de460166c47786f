"""Train the shipped weights from the unlabelled pool and a few hand labels, in one command.

    python -m training.train            # → weights/eyenet.onnx and reports/training.json (≈ 20 min on 2 cores)
    python -m training.train --check    # train again into a scratch file; is it the committed file, bit for bit?

1. Self-supervised pretraining (``training.pretrain``, SimCLR) of the trunk on every pool crop outside the
   validation draw. The result is cached in ``runs/`` under a name made of its settings.
2. Supervision: the first ``--budget`` typical crops of ``labels/train_queue.csv`` (``training.select``: the
   densest crop of each cluster of the embedding; the queue's boundary cases are skipped, as labels there teach
   mostly the labellers' doubts) that their looks call open or closed, each labelled with the share of its looks
   that said open (``labels/looks.csv``); unsure and unusable ones are left out.
3. Semi-supervised fine-tuning (``training.semisup``, FixMatch), three times with different seeds: the pool labels
   itself where it is sure, the hand labels class-balanced, the pseudo-labels aligned to a half-open pool.
4. Self-training (``training.selftrain``): the three fine-tuned teachers, averaged, label the whole pool (shifted
   so that half of it is open, the pool's share); a fresh network learns it under strong augmentation, the
   teachers answering for the very view it sees. It ships.
5. Export (``training.export``): one ONNX file that carries its own description (labels used, validation figures,
   training date and commit).

Every stage prints a progress bar, and the validation EER is taken along the way (a linear probe during
pretraining, the model itself after): the convergence curves in ``reports/training.json``. The validation crops
are used for nothing else: never trained on, never used to pick a model. Seeds and thread counts are fixed, so
the same inputs give the same weights, bit for bit.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch

from classifier.model import WEIGHTS
from training.cli import positive_int, run_main
from training.data import (
    REPO,
    decide,
    labelled,
    load_pool,
    looks_by_file,
    open_share,
    pool_dir,
    read_looks,
    unanimous,
)
from training.export import commit, describe, export_onnx
from training.labelling import train_queue, validation_draw
from training.metrics import accuracy_f1, eer
from training.model import EyeNet, logits
from training.pretrain import SimCLR, embed, linear_probe, pretrain
from training.selftrain import NoisyStudent, fidelity, noisy_student, soft_targets
from training.semisup import FixMatch, fixmatch

BUDGET = 200  # typical queue crops labelled for training (unsure/unusable ones left out); reports/README.md: the curve
RUNS = REPO / "runs"  # scratch (git-ignored): the cached pretrained encoder
TRAINING_JSON = REPO / "reports" / "training.json"
SEED = 0
THREADS = 2  # float sums depend on the thread count: fixed, so that a rerun gives the same weights bit for bit
UNSURE_GRID = (0.55, 0.6, 0.65, 0.7, 0.75, 0.8)
UNSURE_ACCURACY = 0.75  # "hard to tell": below the confidence where validation answers are right this rarely


@dataclasses.dataclass(frozen=True)
class Recipe:
    simclr: SimCLR = SimCLR()
    fixmatch: FixMatch = FixMatch()
    student: NoisyStudent = NoisyStudent()
    teachers: int = 3  # FixMatch runs (seeds) whose averaged answers teach the student
    rounds: int = 1  # self-training rounds: from the second on, the last student is the next one's teacher


def training_labels(budget: int, typical_only: bool = True, soft: bool = True) -> dict[str, float]:
    """``{file: P(open)}`` of the first ``budget`` queued crops: typical crops only (the queue's boundary cases
    skipped: where labellers are least reliable, a label teaches noise), each the share of its deciding looks that
    said open (``soft``; else 1 / 0 by the majority). Unsure or unusable crops count against the budget and are
    left out."""
    known = labelled("train")
    looks = looks_by_file([look for look in read_looks() if look.split == "train"])
    queue = [name for name, reason in train_queue() if not (typical_only and reason.startswith("boundary"))]
    chosen = [name for name in queue[:budget] if name in known]
    if unlooked := [name for name in chosen if name not in looks]:
        raise ValueError(f"{unlooked[0]} has a label in labels/labels.csv but no looks in labels/looks.csv")
    return {name: open_share(looks[name]) if soft else float(known[name]) for name in chosen}


def training_rows(names: list[str]) -> np.ndarray:
    """Rows of the pool outside the validation draw: the only crops training sees, labelled or not. The draw is
    made from the file names, so another pool (a crop more or less) draws other crops: refused, as it would train
    on labelled validation crops."""
    validation = set(validation_draw(names))
    if missing := sorted(set(labelled("val")) - validation):
        raise ValueError(
            f"the pool at {pool_dir()} is not the one the labels were made on: {len(missing)} labelled validation "
            f"crops (e.g. {missing[0]}) are not in its validation draw; EYES_DATASET must name that pool, unchanged"
        )
    return np.array([i for i, name in enumerate(names) if name not in validation])


def predict(net: EyeNet, images: np.ndarray) -> np.ndarray:
    """P(open) of (N, 24, 24) crops."""
    return torch.sigmoid(torch.from_numpy(logits(net, images))).numpy()


class Yardstick:
    """The validation labels: all usable crops, and the ones every look agreed on."""

    def __init__(self, names: list[str], images: np.ndarray) -> None:
        row = {name: i for i, name in enumerate(names)}
        val = labelled("val")
        looks = looks_by_file([look for look in read_looks() if look.split == "val"])
        self.names = list(val)
        self.images = images[[row[name] for name in val]]
        self.y = np.array(list(val.values()))
        self.unanimous = np.array([unanimous(looks[name]) for name in val])
        # Crops the first three looks could not decide (more looks at a larger scale did): the hardest to call.
        self.relooked = np.array([decide(looks[name][:3]) not in ("open", "closed") for name in val])
        # Which crops, in which order: per-crop answers recorded against another yardstick do not pair with these.
        self.key = hashlib.sha256(",".join(self.names).encode()).hexdigest()[:12]

    def figures(self, p: np.ndarray) -> dict[str, float]:
        accuracy, f1 = accuracy_f1(self.y, p >= 0.5)
        agreed = self.unanimous
        return {
            "eer": eer(self.y, p)[0],
            "eer_unanimous": eer(self.y[agreed], p[agreed])[0],
            "accuracy": accuracy,
            "f1": f1,
            "n": len(self.y),
            "n_unanimous": int(agreed.sum()),
        }

    def of(self, net: EyeNet) -> dict[str, float]:
        return self.figures(predict(net, self.images))


def unsure_floor(y: np.ndarray, p: np.ndarray) -> float:
    """The confidence under which an answer is "hard to tell": the top of the highest band of ``UNSURE_GRID``
    (each 0.05 wide) where at least 3 validation answers fall and fewer than ``UNSURE_ACCURACY`` of them are
    right; the grid's lowest value when no band is that unreliable."""
    confidence = np.maximum(p, 1 - p)
    right = (p >= 0.5) == y
    chosen = UNSURE_GRID[0]
    for top in UNSURE_GRID:
        band = (confidence >= top - 0.05) & (confidence < top)
        if band.sum() >= 3 and right[band].mean() < UNSURE_ACCURACY:
            chosen = top
    return chosen


def settings_key(*parts: object) -> str:
    return hashlib.sha256(json.dumps([repr(p) for p in parts]).encode()).hexdigest()[:12]


def recipe_key(recipe: dict) -> str:
    """A short hash of a recipe as ``dataclasses.asdict`` (or ``reports/training.json``) gives it: the sweep's runs
    are variations of the shipped recipe, and compare with the shipped weights only while it is the same."""
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]


def fingerprint(net: EyeNet) -> str:
    """A short hash of a network's numbers: which pretrained encoder a run started from (the report keeps the
    sweep's figures of the shipped encoder only)."""
    digest = hashlib.sha256()
    for tensor in net.state_dict().values():
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()[:12]


def pretrained_encoder(
    train_images: np.ndarray,
    recipe: SimCLR,
    seed: int,
    progress: bool = True,
    watch=None,
    every: int = 0,
    fresh: bool = False,
) -> tuple[EyeNet, list]:
    """The SimCLR encoder and its curve, cached in ``runs/`` under its settings and the images it saw. It is always
    pretrained on THREADS threads, whatever the caller's count: float sums differ between thread counts, and a
    1-thread experiment's encoder, cached under the same name, once became the shipped run's (a fresh clone then
    trained other weights than the committed ones)."""
    key = settings_key(recipe, seed, hashlib.sha256(train_images.tobytes()).hexdigest(), THREADS)
    cache, curve_file = RUNS / f"encoder-{key}.pt", RUNS / f"encoder-{key}.json"
    net = EyeNet()
    if not fresh and cache.exists() and curve_file.exists():
        curve = json.loads(curve_file.read_text())
        if curve or not watch:  # cached without its curve (by the sweep): pretrain again to draw it
            net.load_state_dict(torch.load(cache, weights_only=True))
            return net.eval(), curve
    curve = []

    def record(epoch: int, model: EyeNet) -> None:
        curve.append({"epoch": epoch, **watch(model)})

    threads = torch.get_num_threads()
    torch.set_num_threads(THREADS)
    try:
        net = pretrain(train_images, recipe, seed, progress, every if watch else 0, record if watch else None)
    finally:
        torch.set_num_threads(threads)
    RUNS.mkdir(exist_ok=True)
    torch.save(net.state_dict(), cache)
    curve_file.write_text(json.dumps(curve))
    return net, curve


def train(
    budget: int = BUDGET,
    recipe: Recipe = Recipe(),
    seed: int = SEED,
    progress: bool = True,
    pool: tuple[list[str], np.ndarray] | None = None,
    labels: dict[str, float] | None = None,
    threads: int = THREADS,
    tuning_seed: int | None = None,
    fresh: bool = False,
) -> tuple[EyeNet, dict]:
    """The whole pipeline on ``pool`` (default: ``load_pool()``): the shipped network and what to say about it.
    ``labels`` replaces the queue's first ``budget`` hand labels and ``threads`` the thread count (for the
    experiments: other threads, other float sums, so not the shipped weights bit for bit); ``tuning_seed`` (default
    ``seed``) seeds the teachers and the student alone, the pretrained encoder staying ``seed``'s; ``fresh``
    pretrains again whatever ``runs/`` holds (and caches the result)."""
    if recipe.rounds < 1:
        raise ValueError(f"self-training needs at least one round, not {recipe.rounds}")
    torch.set_num_threads(threads)
    tuning_seed = seed if tuning_seed is None else tuning_seed
    names, images = pool or load_pool()
    rows = training_rows(names)
    train_images = images[rows]
    position = {name: j for j, name in enumerate(np.array(names)[rows])}  # a training crop's row in train_images
    labels = training_labels(budget) if labels is None else labels
    if outside := sorted(set(labels) - set(position)):
        raise ValueError(
            f"{len(outside)} labelled training crops (e.g. {outside[0]}) are not among the pool's training crops"
        )
    if len({share >= 0.5 for share in labels.values()}) < 2:
        raise ValueError(f"the {len(labels)} hand labels are not both open and closed: fine-tuning needs both")
    hand = {position[name]: label for name, label in labels.items()}
    yardstick = Yardstick(names, images)
    labelled_images, y = train_images[list(hand)], np.array(list(hand.values()))

    def probe(net: EyeNet) -> dict[str, float]:  # the trunk's features read by a linear model on the hand labels
        return yardstick.figures(linear_probe(embed(net, labelled_images), y >= 0.5, embed(net, yardstick.images)))

    history: dict[str, list] = {"pretraining": [], "fine_tuning": [], "self_training": []}
    encoder, history["pretraining"] = pretrained_encoder(
        train_images, recipe.simclr, seed, progress, probe, every=25, fresh=fresh
    )

    def watcher(stage: str, unit: str, **tags: int):
        def watch(count: int, net: EyeNet) -> None:
            history[stage].append({**tags, unit: count, **yardstick.of(net)})

        return watch

    teachers = [
        fixmatch(
            encoder,
            labelled_images,
            y,
            train_images,
            recipe.fixmatch,
            tuning_seed * 100 + k,  # each teacher its own draws: an ensemble of one recipe
            progress,
            every=250,
            watch=watcher("fine_tuning", "step", teacher=k),
        )
        for k in range(recipe.teachers)
    ]
    tags = {"round": 1} if recipe.rounds > 1 else {}  # the shipped single round's curve as it always was
    watch = watcher("self_training", "epoch", **tags)
    student = noisy_student(encoder, teachers, train_images, hand, recipe.student, tuning_seed, progress, watch)
    for round_ in range(2, recipe.rounds + 1):  # noisy student, repeated: the student teaches a fresh one
        teachers = [student]
        watch = watcher("self_training", "epoch", round=round_)
        student = noisy_student(
            encoder, teachers, train_images, hand, recipe.student, tuning_seed + 1000 * round_, progress, watch
        )
    facts = {
        "budget": budget,
        "hand_labels": len(labels),
        "seed": seed,
        "recipe": dataclasses.asdict(recipe),
        "encoder": fingerprint(encoder),
        "history": history,
        # the last student's teachers (the FixMatch runs, or the previous round's student)
        "teacher_validation": yardstick.figures(soft_targets(teachers, yardstick.images)),
        # the student's log-odds against its teachers' on the validation crops: what distillation kept
        "fidelity": fidelity(student, teachers, train_images, yardstick.images, recipe.student.open_share),
    }
    return student, facts


def metadata(net: EyeNet, facts: dict, figures: dict, floor: float) -> dict[str, str]:
    """The ONNX file's own description of what it is and how it was made."""
    return describe(
        net,
        unsure_below=str(floor),
        training_labels=(
            f"{facts['hand_labels']} hand labels: the first {facts['budget']} typical crops of labels/train_queue.csv "
            "(boundary cases skipped), each the share of its blind looks (three or more, labels/looks.csv) that said "
            "open; unsure and unusable crops left out"
        ),
        validation={k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()},
        recipe=facts["recipe"],
        trained=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        commit=commit(),
    )


def same_weights(a: Path, b: Path) -> bool:
    """The two ONNX files hold the same graph and the same numbers (their metadata aside: date and commit)."""
    first, second = onnx.load(a), onnx.load(b)
    del first.metadata_props[:], second.metadata_props[:]
    return first.SerializeToString() == second.SerializeToString()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--budget", type=positive_int, default=BUDGET, help=f"hand training labels to use (default {BUDGET})"
    )
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--fresh", action="store_true", help="pretrain again even if runs/ has the encoder")
    parser.add_argument("--check", action="store_true", help="train into a scratch file and compare with --out")
    args = parser.parse_args()
    if args.check and not args.out.is_file():  # found out now, not after the 20 minutes of training
        raise FileNotFoundError(f"--check compares with {args.out}, which does not exist")
    started = time.time()
    pool = load_pool()
    student, facts = train(args.budget, pool=pool, fresh=args.fresh)
    yardstick = Yardstick(*pool)
    p = predict(student, yardstick.images)
    figures = yardstick.figures(p)
    floor = unsure_floor(yardstick.y, p)
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "eyenet.onnx" if args.check else args.out
        export_onnx(student, out, metadata(student, facts, figures, floor))
        if args.check:
            same = same_weights(out, args.out)
            print(f"retrained in {time.time() - started:.0f} s: {'the same' if same else 'DIFFERENT'} weights")
            raise SystemExit(0 if same else 1)
    TRAINING_JSON.parent.mkdir(exist_ok=True)
    seconds = round(time.time() - started)
    TRAINING_JSON.write_text(json.dumps({**facts, "validation": figures, "unsure_below": floor, "seconds": seconds}))
    print(
        f"saved {args.out} ({args.out.stat().st_size / 1024:.0f} KiB) in {seconds} s: {facts['hand_labels']} hand "
        f"labels; validation EER {figures['eer']:.2%} on {figures['n']} crops, {figures['eer_unanimous']:.2%} on "
        f"the {figures['n_unanimous']} unanimous ones; accuracy {figures['accuracy']:.2%}; hard to tell below "
        f"{floor:.0%} confidence"
    )


if __name__ == "__main__":
    run_main(main)
