"""Self-supervised pretraining of the EyeNet trunk on the whole unlabelled pool (SimCLR).

Two augmented views of each crop are pulled together and pushed away from the other crops of the batch
(NT-Xent loss). No labels are used: the trunk learns what varies between eyes (lids, iris, lashes) and what
does not (exposure, blur, a small tilt), which makes a handful of labels go a long way afterwards.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from classifier.augment import augment
from classifier.model import EyeNet


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """SimCLR's contrastive loss for two (N, D) batches of projections of the same N images."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    n = z1.shape[0]
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(similarity, targets)


def pretrain(
    images: np.ndarray, epochs: int = 30, batch_size: int = 256, seed: int = 0, progress: bool = True
) -> EyeNet:
    """An EyeNet whose trunk is pretrained with SimCLR on ``images`` ((N, 24, 24) float32 in [0, 1])."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = EyeNet()
    projector = nn.Sequential(nn.Linear(net.head.in_features, 128), nn.ReLU(inplace=True), nn.Linear(128, 64))
    params = list(net.trunk.parameters()) + list(projector.parameters())
    steps_per_epoch = len(images) // batch_size
    optimizer = torch.optim.AdamW(params, lr=2e-3, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 2e-3, total_steps=epochs * steps_per_epoch)
    data = torch.from_numpy(images).unsqueeze(1)
    net.train()
    bar = tqdm(range(epochs), desc="self-supervised pretraining", disable=not progress)
    for _ in bar:
        order = torch.randperm(len(data), generator=generator)
        for step in range(steps_per_epoch):
            batch = data[order[step * batch_size : (step + 1) * batch_size]]
            z1 = projector(net.embed(augment(batch, 1.0, generator)))
            z2 = projector(net.embed(augment(batch, 1.0, generator)))
            loss = nt_xent(z1, z2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    net.eval()
    return net


@torch.inference_mode()
def embed(net: EyeNet, images: np.ndarray) -> np.ndarray:
    """(N, 64) L2-normalised trunk features of (N, 24, 24) images."""
    net.eval()
    features = net.embed(torch.from_numpy(images).unsqueeze(1))
    return F.normalize(features, dim=1).numpy()
