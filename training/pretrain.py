"""Self-supervised pretraining of the EyeNet trunk on the unlabelled pool (SimCLR).

Two views of each crop (``training.augment.contrastive_view``) are pulled together and pushed away from the other
crops of the batch (NT-Xent loss). No labels are used: the trunk learns what varies between eyes (lids, iris,
lashes) and what does not (exposure, blur, a small tilt or zoom), so that a few labels go a long way afterwards.
On the shipped run the linear-probe EER reached 8.35% at epoch 75 and stayed within 8.35-9.39% to epoch 300
(reports/README.md shows the curve).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from torch import nn
from tqdm import tqdm

from training.augment import contrastive_view
from training.model import EyeNet


@dataclass(frozen=True)
class SimCLR:
    epochs: int = 300
    batch: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.2


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """SimCLR's contrastive loss for two (N, D) batches of projections of the same N images."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(similarity, targets)


def pretrain(
    images: np.ndarray,
    recipe: SimCLR = SimCLR(),
    seed: int = 0,
    progress: bool = True,
    every: int = 0,
    watch: Callable[[int, EyeNet], None] | None = None,
) -> EyeNet:
    """An EyeNet whose trunk is pretrained on ``images`` ((N, 24, 24) float32 in [0, 1]). ``watch(epoch, net)`` is
    called every ``every`` epochs (the convergence curve); it must leave the net as it found it."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = EyeNet()
    width = net.head.in_features
    projector = nn.Sequential(
        nn.Linear(width, 256), nn.BatchNorm1d(256), nn.ReLU(inplace=True), nn.Linear(256, 64)
    )  # thrown away after: the trunk's features, before it, are what the labels then read
    params = list(net.trunk.parameters()) + list(projector.parameters())
    steps_per_epoch = len(images) // recipe.batch
    optimizer = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=recipe.weight_decay)
    total = recipe.epochs * steps_per_epoch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe.lr, total_steps=total, pct_start=0.05)
    data = torch.from_numpy(images).unsqueeze(1)
    bar = tqdm(range(1, recipe.epochs + 1), desc="self-supervised pretraining", disable=not progress)
    for epoch in bar:
        net.train()
        order = torch.randperm(len(data), generator=generator)
        for step in range(steps_per_epoch):
            batch = data[order[step * recipe.batch : (step + 1) * recipe.batch]]
            z1 = projector(net.embed(contrastive_view(batch, generator)))
            z2 = projector(net.embed(contrastive_view(batch, generator)))
            loss = nt_xent(z1, z2, recipe.temperature)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if watch and every and epoch % every == 0:
            watch(epoch, net.eval())
    return net.eval()


def linear_probe(labelled: np.ndarray, is_open: np.ndarray, features: np.ndarray) -> np.ndarray:
    """P(open) of ``features`` by a logistic regression fitted on the ``labelled`` features and their classes: what
    the pretrained features alone tell, with no fine-tuning."""
    return LogisticRegression(C=1.0, max_iter=5000).fit(labelled, is_open).predict_proba(features)[:, 1]


@torch.inference_mode()
def embed(net: EyeNet, images: np.ndarray) -> np.ndarray:
    """(N, 64) L2-normalised trunk features of (N, 24, 24) images."""
    net.eval()
    data = torch.from_numpy(images).unsqueeze(1)
    return F.normalize(torch.cat([net.embed(chunk) for chunk in data.split(1024)]), dim=1).numpy()
