"""Distil the fine-tuned teacher into the small student that ships.

The teacher (two convolutions per stage, 72k parameters) is what SimCLR plus a few labels train best; the student
(one convolution per stage, 4x fewer multiply-adds) is what answers fast enough. The student learns to give the
teacher's logits on the training pool: each crop as it is plus augmented views of it, every view labelled once by
the teacher. No hand labels are used here and the validation crops are never seen, so the validation figures of
the student stay honest.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from classifier.augment import augment
from classifier.model import STUDENT_DEPTH, EyeNet

STUDENT_WIDTH = 16  # channels of the first stage (then 32, 64): 23k parameters, 1.4M multiply-adds a crop


@torch.inference_mode()
def teacher_views(
    teacher: EyeNet, images: np.ndarray, views: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """The crops plus ``views`` augmented copies of each, (N·(views+1), 1, 24, 24), with the teacher's logits."""
    teacher.eval()
    data = torch.from_numpy(images).unsqueeze(1)
    inputs = torch.cat([data] + [augment(data, 1.0, generator) for _ in range(views)])
    return inputs, torch.cat([teacher(chunk) for chunk in inputs.split(2048)])


def distill(
    teacher: EyeNet,
    images: np.ndarray,
    width: int = STUDENT_WIDTH,
    views: int = 8,
    steps: int = 1500,
    seed: int = 0,
    progress: bool = True,
) -> EyeNet:
    """A student ``EyeNet(width, STUDENT_DEPTH)`` trained to match ``teacher``'s logits on ``images``."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    inputs, targets = teacher_views(teacher, images, views, generator)
    student = EyeNet(width, STUDENT_DEPTH)
    optimizer = torch.optim.AdamW(student.parameters(), lr=3e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 3e-3, total_steps=steps, pct_start=0.1)
    student.train()
    bar = tqdm(range(steps), desc="distilling the student", disable=not progress)
    for _ in bar:
        pick = torch.randint(0, len(inputs), (256,), generator=generator)
        loss = F.mse_loss(student(inputs[pick]), targets[pick])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return student.eval()
