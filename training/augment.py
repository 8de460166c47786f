"""Batch augmentations for 24x24 eye crops, done on tensors so a whole batch costs one grid_sample.

Geometry stays gentle where labels are learnt: a small shift, zoom and tilt keep both eyelids inside the crop,
because the lids are the whole signal (an augmentation that cut the lid off would turn an open eye into a
"closed" one). Self-supervised pretraining may zoom further (``contrastive_view``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _uniform(n: int, low: float, high: float, generator: torch.Generator | None) -> torch.Tensor:
    """``n`` draws, uniform in [low, high)."""
    return low + (high - low) * torch.rand(n, generator=generator)


def geometric(
    x: torch.Tensor, strength: float, generator: torch.Generator | None = None, zoom: float = 0.2, shift: float = 2.0
) -> torch.Tensor:
    """Random flip, tilt (±15°·s), zoom in (1..1+zoom·s) and shift (±shift px·s) with border padding."""
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return _uniform(n, low, high, generator)

    angle = uniform(-15, 15) * strength * math.pi / 180
    scale = 1.0 / uniform(1.0, 1.0 + zoom * strength)  # <1 samples a smaller window: zooms in
    flip = torch.where(torch.rand(n, generator=generator) < 0.5, -1.0, 1.0)
    shift = shift / 12.0 * strength  # pixels in normalised [-1, 1] coordinates
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, uniform(-shift, shift)], 1),
            torch.stack([sin * flip, cos, uniform(-shift, shift)], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def photometric(x: torch.Tensor, strength: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random gamma, contrast, brightness, blur and noise, as cameras and JPEG vary them."""
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:  # one value per image, broadcast over its pixels
        return _uniform(n, low, high, generator).view(n, 1, 1, 1)

    x = x.clamp(0, 1) ** torch.exp(uniform(-0.4, 0.4) * strength)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * torch.exp(uniform(-0.4, 0.4) * strength) + mean + uniform(-0.15, 0.15) * strength
    blur = torch.tensor([[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]).view(1, 1, 3, 3) / 16
    blurred = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), blur)
    use_blur = (torch.rand(n, generator=generator) < 0.3 * strength).view(n, 1, 1, 1)
    x = torch.where(use_blur, blurred, x)
    x = x + torch.randn(x.shape, generator=generator) * 0.03 * strength
    return x.clamp(0, 1)


def augment(x: torch.Tensor, strength: float = 1.0, generator: torch.Generator | None = None) -> torch.Tensor:
    """Geometric then photometric augmentation of an (N, 1, 24, 24) batch in [0, 1]."""
    return photometric(geometric(x, strength, generator), strength, generator)


def contrastive_view(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A view for self-supervised pretraining: zooms up to 1.8x and shifts up to 3 px, more than the labelled
    training may use (the pretraining only asks two views to agree, so a view that cuts a lid off cannot teach a
    wrong label); measured 9.7% against 10.1% linear-probe EER after 100 epochs."""
    return photometric(geometric(x, 1.0, generator, zoom=0.8, shift=3.0), 1.0, generator)
