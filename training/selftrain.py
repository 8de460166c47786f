"""Self-training (noisy student): the fine-tuned teacher labels the whole training pool, a fresh network learns it.

The teacher's soft answer for every pool crop (averaged with its answer on the mirrored crop) becomes the target;
hand labels override it on their crops. The student starts from the self-supervised trunk and learns those
targets on strongly augmented views, so it must give the teacher's answers under noise the teacher never had to
face; it comes out smoother than the teacher, and in one network (what ships). Validation crops are never seen.
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


@torch.inference_mode()
def soft_targets(teacher: EyeNet, images: np.ndarray) -> np.ndarray:
    """The teacher's P(open) for each crop, averaged with the mirrored crop's (an eye is an eye either way round)."""
    teacher.eval()
    data = torch.from_numpy(images).unsqueeze(1)
    p = [torch.sigmoid(teacher(chunk)) + torch.sigmoid(teacher(chunk.flip(3))) for chunk in data.split(1024)]
    return (torch.cat(p) / 2).numpy()


def noisy_student(
    encoder: EyeNet,
    teacher: EyeNet,
    images: np.ndarray,
    hand_labels: dict[int, int],
    recipe: NoisyStudent = NoisyStudent(),
    seed: int = 0,
    progress: bool = True,
    watch: Callable[[int, EyeNet], None] | None = None,
) -> EyeNet:
    """A network trained on ``teacher``'s answers for ``images`` (rows in ``hand_labels`` take the hand label
    instead): a copy of ``encoder`` when the recipe asks for its shape, else a fresh network of the recipe's
    shape. ``watch(epoch, student)`` is called after every epoch; it must leave the student as it was."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    targets = soft_targets(teacher, images)
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
