"""What camera, light and file do to a photo, done to the close-up look's 24x24 colour images, eye or not alike.

    x = colour_jitter(photometric(x, generator), generator)   # (N, 3, 24, 24) in [0, 1]

``photometric`` changes each image at random: a flip, a frame edge cutting in (its edge pixels repeated past it),
gamma, contrast and brightness, blur or sharpening, shrinking and enlarging again, noise, JPEG. ``colour_jitter``
then shifts its white balance, changes its saturation and turns a third of the images grey. Every class gets the
same changes, so that none of sharpness, noise, JPEG, a tint or being grey tells a close-up from anything else: the
pool's crops are small, blurry, JPEG'd and grey where a phone close-up is sharp and in colour.

Unlike ``training.augment`` (the eye-state model's gentle changes to labelled crops), these are strong: the look
only has to say whether there is an eye, not what state it is in.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from classifier.images import SIZE


def _blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(1, math.ceil(2.5 * sigma))
    taps = torch.exp(-((torch.arange(-radius, radius + 1, dtype=torch.float32) / sigma) ** 2) / 2)
    taps = taps / taps.sum()
    channels = x.shape[1]  # each channel on its own
    x = F.conv2d(
        F.pad(x, (radius, radius, 0, 0), mode="replicate"),
        taps.view(1, 1, 1, -1).repeat(channels, 1, 1, 1),
        groups=channels,
    )
    return F.conv2d(
        F.pad(x, (0, 0, radius, radius), mode="replicate"),
        taps.view(1, 1, -1, 1).repeat(channels, 1, 1, 1),
        groups=channels,
    )


def _jpeg(x: torch.Tensor, rows: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    qualities = torch.randint(20, 95, (len(rows),), generator=generator).tolist()
    for row, quality in zip(rows.tolist(), qualities, strict=True):
        buffer = io.BytesIO()
        pixels = (x[row].clamp(0, 1) * 255).round().byte().permute(1, 2, 0).numpy()  # (24, 24, channels)
        Image.fromarray(pixels.squeeze(2) if pixels.shape[2] == 1 else pixels).save(buffer, "JPEG", quality=quality)
        decoded = np.asarray(Image.open(buffer), dtype=np.float32) / 255
        x[row] = torch.from_numpy(decoded.reshape(SIZE, SIZE, -1)).permute(2, 0, 1)
    return x


def _frame_edge(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A frame edge cutting into some images, past which its edge pixels repeat; 15 % tight all round."""
    n = x.shape[0]
    cut = (torch.rand(n, 4, generator=generator) < torch.tensor([0.3, 0.3, 0.15, 0.15])) * torch.randint(
        1, 11, (n, 4), generator=generator
    )
    tight = torch.rand(n, generator=generator) < 0.15  # a frame tight all round: an eye filling a close-up
    cut = torch.where(tight[:, None], torch.randint(2, 8, (n, 4), generator=generator), cut)
    index = torch.arange(SIZE)
    rows = torch.minimum(torch.maximum(index[None], cut[:, :1]), SIZE - 1 - cut[:, 1:2])
    cols = torch.minimum(torch.maximum(index[None], cut[:, 2:3]), SIZE - 1 - cut[:, 3:4])
    channels = torch.arange(x.shape[1])[None, :, None, None]
    return x[torch.arange(n)[:, None, None, None], channels, rows[:, None, :, None], cols[:, None, None, :]]


def photometric(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(N, C, 24, 24) in [0, 1], each image changed at random: what camera, light and file do to a photo."""
    n = x.shape[0]

    def uniform(low: float, high: float) -> torch.Tensor:
        return (low + (high - low) * torch.rand(n, generator=generator)).view(n, 1, 1, 1)

    def some(p: float) -> torch.Tensor:
        return (torch.rand(n, generator=generator) < p).view(n, 1, 1, 1)

    x = torch.where(some(0.5), x.flip(3), x)
    x = _frame_edge(x, generator)
    x = x.clamp(0, 1) ** torch.exp(uniform(-0.6, 0.6))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * torch.exp(uniform(-1.5, 0.3)) + mean + uniform(-0.2, 0.2)
    sigma = [0.5, 0.8, 1.2][int(torch.randint(3, (1,), generator=generator))]
    blurred = _blur(x, sigma)
    x = torch.where(some(0.3), blurred, torch.where(some(0.3), x + uniform(0.3, 1.5) * (x - blurred), x))
    small = int(torch.randint(12, 20, (1,), generator=generator))
    coarse = F.interpolate(F.interpolate(x, size=small, mode="area"), size=SIZE, mode="bilinear", align_corners=False)
    x = torch.where(some(0.2), coarse, x)
    x = x + torch.randn(x.shape, generator=generator) * uniform(0, 0.03)
    x = x.clamp(0, 1)
    rows = torch.nonzero(torch.rand(n, generator=generator) < 0.3).flatten()
    return _jpeg(x, rows, generator)


def colour_jitter(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(N, 3, 24, 24): each image's white balance shifted, its saturation changed, a third of them turned grey."""
    n = x.shape[0]
    gains = torch.exp((torch.rand(n, 3, 1, 1, generator=generator) - 0.5) * 0.3)
    x = x * gains
    grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]).expand_as(x)
    saturation = 0.4 + 0.9 * torch.rand(n, 1, 1, 1, generator=generator)
    saturation = torch.where(torch.rand(n, 1, 1, 1, generator=generator) < 1 / 3, 0.0, saturation)
    return (grey + saturation * (x - grey)).clamp(0, 1)
