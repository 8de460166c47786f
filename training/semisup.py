"""Semi-supervised fine-tuning (FixMatch): few hand labels, and the unlabelled pool labelling itself.

Each step takes a batch of labelled crops and ``ratio`` times as many unlabelled ones. The network's own answer on
a weakly augmented view of an unlabelled crop (a small shift, zoom and tilt) is its pseudo-label; where that
answer is confident, the network must give it again on a strongly augmented view (every augmentation at full
strength). Distribution alignment rescales the pseudo-labels' odds so that, on average, they match the pool's
share of open eyes (about half), which keeps a bias in the few labels from growing; for the same reason the hand
labels' loss is class-balanced (the typical crops chosen for labelling are about 60% open, the pool about half).
Hand labels may be soft (the share of looks that said open). The weights' exponential moving average (EMA) is the
model kept: smoother than any single step.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from training.augment import augment, geometric
from training.model import EyeNet


@dataclass(frozen=True)
class FixMatch:
    steps: int = 1500
    batch: int = 64  # labelled crops per step
    ratio: int = 3  # unlabelled crops per labelled one
    threshold: float = 0.95  # pseudo-labels only where the network is at least this sure
    lr: float = 1e-3
    weight_decay: float = 1e-4
    ema: float = 0.999
    open_share: float | None = 0.5  # distribution alignment's target, the pool's share of open eyes (None: off)
    labelled_strength: float = 1.0  # augmentation of the labelled crops
    balance: bool = True  # weigh the hand labels so that open and closed count alike
    adaptive: bool = False  # FreeMatch's self-adaptive threshold instead of the fixed one (``AdaptiveThreshold``)


class AdaptiveThreshold:
    """FreeMatch's self-adaptive threshold (Wang et al. 2023), for two classes: the global threshold is the running
    mean of the network's confidence (low while it learns, high once it is sure), scaled for each class by that
    class's running mean probability over the larger of the two, so the class the network answers less (a class it
    is still learning) needs less. Running means over ``ema`` (FreeMatch's 0.999), from knowing nothing (one half):
    after 1,500 steps a fifth of the weight is still on that start, so the threshold stays under the mean
    confidence. Here it is given the pseudo-labels after distribution alignment, which holds their mean near one
    half: the class-wise part barely acts, and what the ablation measures is mostly the global threshold."""

    def __init__(self, ema: float = 0.999) -> None:
        self.ema = ema
        self.confidence = torch.tensor(0.5)
        self.classes = torch.tensor([0.5, 0.5])  # mean P(closed), mean P(open)

    def __call__(self, p: torch.Tensor) -> torch.Tensor:
        confidence = torch.maximum(p, 1 - p)
        self.confidence = self.ema * self.confidence + (1 - self.ema) * confidence.mean()
        self.classes = self.ema * self.classes + (1 - self.ema) * torch.stack([(1 - p).mean(), p.mean()])
        threshold = self.confidence * self.classes / self.classes.max()
        return confidence >= threshold[(p > 0.5).long()]


def fixmatch(
    encoder: EyeNet,
    labelled_images: np.ndarray,
    labels: np.ndarray,
    unlabelled: np.ndarray,
    recipe: FixMatch = FixMatch(),
    seed: int = 0,
    progress: bool = True,
    every: int = 0,
    watch: Callable[[int, EyeNet], None] | None = None,
) -> EyeNet:
    """Fine-tune a copy of ``encoder`` on ``labels`` (P(open) of each labelled crop: 0 or 1, or a share of looks);
    returns the EMA model. ``watch(step, ema)`` is called every ``every`` steps (the convergence curve); it must not
    change the model."""
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    net = copy.deepcopy(encoder).train()
    ema = copy.deepcopy(net).eval()
    optimizer = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, recipe.lr, total_steps=recipe.steps, pct_start=0.05)
    x_l = torch.from_numpy(labelled_images).unsqueeze(1)
    y_l = torch.from_numpy(labels.astype(np.float32))
    open_share = float(y_l.mean()) if recipe.balance else 0.5
    weight_l = torch.where(y_l >= 0.5, 0.5 / open_share, 0.5 / (1 - open_share))  # 1 everywhere when unbalanced
    x_u = torch.from_numpy(unlabelled).unsqueeze(1)
    mean_p = torch.tensor(0.5)  # running mean of the pseudo-labels, for distribution alignment
    adaptive = AdaptiveThreshold() if recipe.adaptive else None
    bar = tqdm(range(1, recipe.steps + 1), desc="semi-supervised fine-tuning", disable=not progress)
    for step in bar:
        pick_l = torch.randint(0, len(x_l), (recipe.batch,), generator=generator)
        batch_u = x_u[torch.randint(0, len(x_u), (recipe.batch * recipe.ratio,), generator=generator)]
        with torch.no_grad():
            net.eval()
            p = torch.sigmoid(net(geometric(batch_u, 0.3, generator)))
            net.train()
            if recipe.open_share is not None:
                mean_p = 0.999 * mean_p + 0.001 * p.mean()
                prior = recipe.open_share / (1 - recipe.open_share)
                odds = p / (1 - p).clamp_min(1e-6) * prior * (1 - mean_p) / mean_p
                p = odds / (1 + odds)
        confident = (adaptive(p) if adaptive else torch.maximum(p, 1 - p) >= recipe.threshold).float()
        labelled = augment(x_l[pick_l], recipe.labelled_strength, generator)
        logits = net(torch.cat([labelled, augment(batch_u, 1.0, generator)]))
        supervised = F.binary_cross_entropy_with_logits(logits[: recipe.batch], y_l[pick_l], weight_l[pick_l])
        pseudo = F.binary_cross_entropy_with_logits(logits[recipe.batch :], (p > 0.5).float(), reduction="none")
        loss = supervised + (pseudo * confident).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        with torch.no_grad():
            for average, current in zip(ema.state_dict().values(), net.state_dict().values(), strict=True):
                if average.dtype.is_floating_point:
                    average.mul_(recipe.ema).add_(current, alpha=1 - recipe.ema)
                else:
                    average.copy_(current)
        bar.set_postfix(loss=f"{loss.item():.3f}", confident=f"{confident.mean().item():.2f}")
        if watch and every and step % every == 0:
            watch(step, ema)
    return ema.eval()
