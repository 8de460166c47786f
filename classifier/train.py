"""Train the shipped weights from the unlabelled pool and a few hand labels, in one command.

    python -m classifier.train            # pool + labels/labels.csv → weights/eyenet.npz  (≈ 5-6 min, 2 CPU cores)

1. SimCLR pretraining of the teacher EyeNet's trunk on every pool image that is not in the validation draw
   (``classifier.pretrain``).
2. The first ``--budget`` images of ``labels/train_queue.csv`` (chosen by ``classifier.select``) with their hand
   labels are the only supervision.
3. FixMatch-style semi-supervised fine-tuning: a mean (EMA) teacher labels weakly augmented unlabelled crops;
   where it is confident, the student must give the same answer on a strongly augmented view. The EMA model is
   the teacher.
4. Distillation (``classifier.distill``): the small, fast student learns the teacher's logits on the same pool.
   The student ships; the validation split is only used to print the final figures of both.
Seeds are fixed, so the same inputs give the same weights.
"""

from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from classifier.augment import augment, geometric
from classifier.data import REPO, labelled, load_pool, validation_set
from classifier.distill import distill
from classifier.engine import export_arrays
from classifier.inference import WEIGHTS
from classifier.labelling import VAL_SEED, VAL_SIZE, train_queue, validation_draw
from classifier.metrics import accuracy_f1, eer
from classifier.model import EyeNet
from classifier.pretrain import pretrain

BUDGET = 200  # the label-budget curve (reports/README.md) shows 200 labels buy more than 0.5 point of EER over 50
RUNS = REPO / "runs"  # scratch (git-ignored): the cached pretrained encoder
SEED = 0


def training_labels(budget: int) -> dict[str, int]:
    """Hand labels of the first ``budget`` queued images (unusable ones count against the budget)."""
    queued = [name for name, _ in train_queue()[:budget]]
    known = labelled("train")
    return {name: known[name] for name in queued if name in known}


def fixmatch(
    encoder: EyeNet,
    labelled_images: np.ndarray,
    labels: np.ndarray,
    unlabelled: np.ndarray,
    steps: int = 300,
    threshold: float = 0.9,
    seed: int = SEED,
    progress: bool = True,
) -> EyeNet:
    """Fine-tune a copy of ``encoder`` on few labels plus confident pseudo-labels; returns the EMA teacher."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    student = copy.deepcopy(encoder)
    student.train()
    teacher = copy.deepcopy(student)
    optimizer = torch.optim.AdamW(student.parameters(), lr=1e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 1e-3, total_steps=steps, pct_start=0.1)
    x_l = torch.from_numpy(labelled_images).unsqueeze(1)
    y_l = torch.from_numpy(labels.astype(np.float32))
    x_u = torch.from_numpy(unlabelled).unsqueeze(1)
    bar = tqdm(range(steps), desc="semi-supervised fine-tuning", disable=not progress)
    for _ in bar:
        pick_l = torch.randint(0, len(x_l), (64,), generator=generator)
        pick_u = torch.randint(0, len(x_u), (128,), generator=generator)
        batch_u = x_u[pick_u]
        with torch.no_grad():
            teacher.eval()
            p_teacher = torch.sigmoid(teacher(geometric(batch_u, 0.3, generator)))
        confident = (torch.maximum(p_teacher, 1 - p_teacher) >= threshold).float()
        logits = student(torch.cat([augment(x_l[pick_l], 1.0, generator), augment(batch_u, 1.0, generator)]))
        supervised = F.binary_cross_entropy_with_logits(logits[:64], y_l[pick_l])
        pseudo = F.binary_cross_entropy_with_logits(logits[64:], (p_teacher > 0.5).float(), reduction="none")
        loss = supervised + (pseudo * confident).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            for t, s in zip(teacher.state_dict().values(), student.state_dict().values(), strict=True):
                if t.dtype.is_floating_point:
                    t.mul_(0.99).add_(s, alpha=0.01)
                else:
                    t.copy_(s)
        bar.set_postfix(loss=f"{loss.item():.3f}", confident=f"{confident.mean().item():.2f}")
    teacher.eval()
    return teacher


@torch.inference_mode()
def predict(net: EyeNet, images: np.ndarray) -> np.ndarray:
    net.eval()
    return torch.sigmoid(net(torch.from_numpy(images).unsqueeze(1))).numpy()


def split_pool(names: list[str], images: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Images outside the validation draw (the only ones training sees), and the name → row index map."""
    validation = set(validation_draw(names, VAL_SIZE, VAL_SEED))
    keep = np.array([name not in validation for name in names])
    return images[keep], {name: i for i, name in enumerate(names)}


def pretrained_encoder(train_images: np.ndarray, seed: int = SEED, progress: bool = True) -> EyeNet:
    """SimCLR trunk for ``seed``, cached in ``runs/`` so the report's many trainings pretrain once."""
    cache = RUNS / f"encoder_seed{seed}.pt"
    net = EyeNet()
    if cache.exists():
        net.load_state_dict(torch.load(cache, weights_only=True))
        return net
    net = pretrain(train_images, seed=seed, progress=progress)
    cache.parent.mkdir(exist_ok=True)
    torch.save(net.state_dict(), cache)
    return net


def train(
    budget: int = BUDGET,
    encoder: EyeNet | None = None,
    seed: int = SEED,
    progress: bool = True,
    pool: tuple[list[str], np.ndarray] | None = None,
) -> tuple[EyeNet, dict]:
    """Run the whole pipeline on ``pool`` (default: ``load_pool()``); returns the trained net and its metadata."""
    names, images = pool or load_pool()
    train_images, index = split_pool(names, images)
    if encoder is None:
        encoder = pretrained_encoder(train_images, seed, progress)
    labels = training_labels(budget)
    rows = np.array([index[name] for name in labels])
    net = fixmatch(encoder, images[rows], np.array(list(labels.values())), train_images, seed=seed, progress=progress)
    return net, {"budget": budget, "hand_labels": len(labels), "seed": seed}


def validate(net: EyeNet, names: list[str], images: np.ndarray) -> dict[str, float]:
    _, val_images, y = validation_set(names, images)
    p = predict(net, val_images)
    accuracy, f1 = accuracy_f1(y, p >= 0.5)
    return {"eer": eer(y, p)[0], "accuracy": accuracy, "f1": f1, "n": len(y)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=int, default=BUDGET, help=f"hand training labels to use (default {BUDGET})")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--fresh", action="store_true", help="pretrain again even if runs/ has the encoder")
    args = parser.parse_args()
    start = time.time()
    if args.fresh:
        (RUNS / f"encoder_seed{args.seed}.pt").unlink(missing_ok=True)
    pool = load_pool()
    teacher, meta = train(args.budget, seed=args.seed, pool=pool)
    torch.save({"state_dict": teacher.state_dict(), "meta": meta}, RUNS / f"eyenet_seed{args.seed}.pt")
    teacher_figures = validate(teacher, *pool)
    student = distill(teacher, split_pool(*pool)[0], seed=args.seed)
    figures = validate(student, *pool)
    meta.update({k: round(v, 4) for k, v in figures.items()})
    meta.update({"width": student.width, "depth": student.depth, "teacher_eer": round(teacher_figures["eer"], 4)})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **export_arrays(student, meta))  # what classifier.inference loads: NumPy only, BN folded
    print(
        f"saved {args.out} ({args.out.stat().st_size / 1024:.0f} KiB) in {time.time() - start:.0f}s: "
        f"{meta['hand_labels']} hand labels; validation EER {figures['eer']:.2%} (teacher "
        f"{teacher_figures['eer']:.2%}), accuracy {figures['accuracy']:.2%}, F1 {figures['f1']:.3f} "
        f"on {figures['n']} images"
    )


if __name__ == "__main__":
    main()
