"""EyeNet's forward pass in plain NumPy, for inference: no torch import, no per-op framework overhead.

A 24x24 crop is so small that torch spends most of a single call in dispatch and its generic convolution path
(~1.5 ms); here each 3x3 convolution is one im2col copy and one matrix product, and every other step is a couple
of NumPy calls on contiguous memory. The layers are the trained EyeNet with BatchNorm folded into the
convolutions (``export_arrays`` below, used by the training script). Layout is NHWC throughout, so im2col
windows are contiguous channel runs.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np

CHUNK = 16  # images per im2col: measured fastest here (the scratch columns stay in cache)


@functools.cache
def _window_index(h: int, w: int, c: int) -> np.ndarray:
    """For an (h+2, w+2, c) padded map flattened: the (h*w, 9*c) positions of every 3x3 window, (ky, kx, c) order."""
    rows, cols = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    windows = [((rows + dy) * (w + 2) + cols + dx)[..., None] * c + np.arange(c) for dy in range(3) for dx in range(3)]
    index = np.stack(windows, axis=2).reshape(h * w, 9 * c)
    index.flags.writeable = False  # shared by every call and thread
    return index


def conv3x3(x: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(N, H, W, C) → (N, H, W, C_out): 3x3 convolution, padding 1, no bias. ``weight`` is (3*3*C, C_out)."""
    n, h, w, c = x.shape
    padded = np.zeros((n, h + 2, w + 2, c), dtype=np.float32)  # np.pad costs ~100 µs of Python per call
    padded[:, 1:-1, 1:-1] = x
    if c < 4:  # im2col of a thin map: one gather of single numbers is cheapest
        columns = np.take(padded.reshape(n, -1), _window_index(h, w, c), axis=1)
    else:  # each window row is 3*c contiguous numbers: a strided view of them, copied once by the reshape below
        # (3-4x faster than the gather once c ≥ 16)
        s_image, s_row, s_pixel, s_channel = padded.strides
        shape, strides = (n, h, w, 3, 3 * c), (s_image, s_row, s_pixel, s_row, s_channel)
        columns = np.ndarray(shape, np.float32, padded, 0, strides)  # as_strided, minus ~8 µs of Python
    return (columns.reshape(n * h * w, 9 * c) @ weight).reshape(n, h, w, -1)


def max_pool2(x: np.ndarray) -> np.ndarray:
    """2x2 max pooling of (N, H, W, C) as two element-wise maxima (a max over reshaped axes is ~10x slower)."""
    n, h, w, c = x.shape
    pairs = x.reshape(n, h // 2, 2, w // 2, 2 * c)
    rows = np.maximum(pairs[:, :, 0], pairs[:, :, 1])
    return np.maximum(rows[..., :c], rows[..., c:])


def standardise(images: np.ndarray) -> np.ndarray:
    """Each crop to zero mean and unit (unbiased, as torch.std) deviation: exposure says nothing about the lids."""
    n = len(images)
    flat = images.reshape(n, -1).astype(np.float32)  # a copy: the caller's array is left alone
    flat -= flat.sum(axis=1, keepdims=True) * np.float32(1 / flat.shape[1])
    std = np.sqrt((flat * flat).sum(axis=1, keepdims=True) * np.float32(1 / (flat.shape[1] - 1)))
    flat /= std + np.float32(0.05)
    return flat.reshape(images.shape)


def forward(images: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]], depth: int, head: tuple) -> np.ndarray:
    """(N, 24, 24) float32 in [0, 1] → (N,) logits; ``layers`` are three stages of ``depth`` convolutions each."""
    x = standardise(images)[..., None]
    for i, (weight, bias) in enumerate(layers):
        x = conv3x3(x, weight)
        if i % depth == depth - 1:
            x = max_pool2(x)  # before bias and ReLU: both are per-channel monotonic, so the order does not
        x += bias  # change the result, and they then touch 4x fewer numbers
        np.maximum(x, 0, out=x)
    n, h, w, c = x.shape
    features = x.reshape(n, h * w, c).sum(axis=1) * np.float32(1 / (h * w))  # global average pooling
    return features @ head[0] + head[1]


class NumpyEyeNet:
    """Folded EyeNet weights from an ``.npz`` file, run with NumPy."""

    def __init__(self, path: Path) -> None:
        with np.load(path) as data:
            self.meta: dict = json.loads(str(data["meta"]))
            self.depth = int(data["depth"])  # convolutions per stage
            self.layers = [(data[f"conv{i}.weight"], data[f"conv{i}.bias"]) for i in range(3 * self.depth)]
            self.head = (data["head.weight"], float(data["head.bias"].reshape(())))

    @property
    def parameters(self) -> int:
        return sum(w.size + b.size for w, b in self.layers) + self.head[0].size + 1

    def logits(self, images: np.ndarray) -> np.ndarray:
        if len(images) <= CHUNK:
            return forward(images, self.layers, self.depth, self.head)
        return np.concatenate(
            [forward(images[s : s + CHUNK], self.layers, self.depth, self.head) for s in range(0, len(images), CHUNK)]
        )


def export_arrays(net, meta: dict) -> dict[str, np.ndarray]:
    """The arrays ``NumpyEyeNet`` reads, from a trained torch ``EyeNet`` (BatchNorm folded)."""
    import torch

    from classifier.model import fold_batchnorm

    folded = fold_batchnorm(net)
    convs = [m for m in folded.trunk if isinstance(m, torch.nn.Conv2d)]
    arrays: dict[str, np.ndarray] = {}
    for i, conv in enumerate(convs):
        weight = conv.weight.detach().numpy()  # (C_out, C, 3, 3) → (3, 3, C, C_out) → (9C, C_out)
        arrays[f"conv{i}.weight"] = np.ascontiguousarray(weight.transpose(2, 3, 1, 0).reshape(-1, weight.shape[0]))
        arrays[f"conv{i}.bias"] = conv.bias.detach().numpy().copy()
    arrays["head.weight"] = folded.head.weight.detach().numpy()[0].copy()
    arrays["head.bias"] = folded.head.bias.detach().numpy().reshape(())
    arrays["depth"] = np.array(net.depth)
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays
