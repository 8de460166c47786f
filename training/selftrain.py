"""Self-training (noisy student): the fine-tuned teachers label the whole training pool, a fresh network learns it.

The teachers' soft answer for every pool crop (their log-odds averaged over the teachers and the mirrored crop)
becomes the target, shifted by one constant so that the pool comes out at its share of open eyes (about half: the
teachers inherit some of the hand labels' lean); hand labels override it on their crops. The student starts from
the self-supervised trunk and learns those targets on strongly augmented views, so it must give the teachers'
answers under noise they never had to face; it comes out smoother than any one teacher, and in one network (what
ships). Validation crops are never seen.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from training.augment import augment
from training.model import EyeNet


@dataclass(frozen=True)
class NoisyStudent:
    epochs: int = 30
    batch: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    width: int = 16  # the student's shape: the pretrained trunk's own, or a smaller one trained from scratch
    depth: int = 2
    open_share: float | None = 0.5  # the pool's share of open eyes the targets are shifted to (None: as given)


@torch.inference_mode()
def ensemble_logits(teachers: list[EyeNet], images: np.ndarray) -> np.ndarray:
    """The teachers' open-eye log-odds for each crop, averaged over teachers and over the crop and its mirror image
    (an eye is an eye either way round)."""
    data = torch.from_numpy(images).unsqueeze(1)
    total = torch.zeros(len(data))
    for teacher in teachers:
        teacher.eval()
        total += torch.cat([teacher(chunk) + teacher(chunk.flip(3)) for chunk in data.split(1024)])
    return (total / (2 * len(teachers))).numpy()


def shift_to_share(logits: np.ndarray, share: float) -> np.ndarray:
    """``logits`` plus the one constant that makes their mean probability ``share`` (found by bisection)."""
    low, high = -20.0, 20.0
    for _ in range(60):
        middle = (low + high) / 2
        if np.mean(1 / (1 + np.exp(-(logits + middle)))) > share:
            high = middle
        else:
            low = middle
    return logits + (low + high) / 2


def soft_targets(teachers: list[EyeNet], images: np.ndarray, open_share: float | None = None) -> np.ndarray:
    """The teachers' P(open) for each crop; with ``open_share``, shifted so that their mean is that share."""
    logits = ensemble_logits(teachers, images)
    if open_share is not None:
        logits = shift_to_share(logits, open_share)
    return (1 / (1 + np.exp(-logits))).astype(np.float32)


def noisy_student(
    encoder: EyeNet,
    teachers: list[EyeNet],
    images: np.ndarray,
    hand_labels: dict[int, float],
    recipe: NoisyStudent = NoisyStudent(),
    seed: int = 0,
    progress: bool = True,
    watch: Callable[[int, EyeNet], None] | None = None,
) -> EyeNet:
    """A network trained on the ``teachers``' answers for ``images`` (rows in ``hand_labels`` take the hand label
    instead): a copy of ``encoder`` when the recipe asks for its shape, else a fresh network of the recipe's
    shape. ``watch(epoch, student)`` is called after every epoch; it must leave the student as it was."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    targets = soft_targets(teachers, images, recipe.open_share)
    for row, label in hand_labels.items():
        targets[row] = label
    x, y = torch.from_numpy(images).unsqueeze(1), torch.from_numpy(targets.astype(np.float32))
    same_shape = (recipe.width, recipe.depth) == (encoder.width, encoder.depth)
    student = copy.deepcopy(encoder) if same_shape else EyeNet(recipe.width, recipe.depth)
    steps_per_epoch = len(x) // recipe.batch
    optimizer = torch.optim.AdamW(student.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    total = recipe.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe.lr, total_steps=total, pct_start=0.1)
    bar = tqdm(range(1, recipe.epochs + 1), desc="self-training the student", disable=not progress)
    for epoch in bar:
        student.train()
        order = torch.randperm(len(x), generator=generator)
        for step in range(steps_per_epoch):
            batch = order[step * recipe.batch : (step + 1) * recipe.batch]
            loss = F.binary_cross_entropy_with_logits(student(augment(x[batch], 1.0, generator)), y[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if watch:
            watch(epoch, student.eval())
    return student.eval()
