"""EyeNet's forward pass in plain NumPy, for inference: no torch import, no per-op framework overhead.

A 24x24 crop is so small that torch spends most of a single call in dispatch and its generic convolution path
(~1.5 ms); here each 3x3 convolution is one im2col copy and one matrix product. The layers are the trained
EyeNet with BatchNorm folded into the convolutions (``export_arrays`` below, used by the training script).
Layout is NHWC throughout, so im2col windows are contiguous channel runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

CHUNK = 16  # images per im2col: measured fastest here (the scratch columns stay in cache)


def conv3x3_relu(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(N, H, W, C) → (N, H, W, C_out): 3x3 convolution, padding 1, then ReLU. ``weight`` is (3*3*C, C_out)."""
    n, h, w, c = x.shape
    padded = np.zeros((n, h + 2, w + 2, c), dtype=np.float32)  # np.pad costs ~100 µs of Python per call
    padded[:, 1:-1, 1:-1] = x
    columns = np.empty((n, h, w, 9, c), dtype=np.float32)  # im2col as nine shifted copies, (ky, kx, c) order
    for k in range(9):
        dy, dx = divmod(k, 3)
        columns[:, :, :, k] = padded[:, dy : dy + h, dx : dx + w]
    out = columns.reshape(n * h * w, 9 * c) @ weight
    out += bias
    np.maximum(out, 0, out=out)
    return out.reshape(n, h, w, -1)


def max_pool2(x: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def forward(
    images: np.ndarray, layers: list[tuple[np.ndarray, np.ndarray]], head: tuple[np.ndarray, float]
) -> np.ndarray:
    """(N, 24, 24) float32 in [0, 1] → (N,) logits; ``layers`` are three stages of two convolutions each."""
    x = images.astype(np.float32, copy=False)
    mean = x.mean(axis=(1, 2), keepdims=True)
    std = x.std(axis=(1, 2), keepdims=True, ddof=1)  # torch.std is unbiased
    x = ((x - mean) / (std + 0.05))[..., None]
    for i, (weight, bias) in enumerate(layers):
        x = conv3x3_relu(x, weight, bias)
        if i % 2 == 1:
            x = max_pool2(x)
    features = x.mean(axis=(1, 2))
    return features @ head[0] + head[1]


class NumpyEyeNet:
    """Folded EyeNet weights from an ``.npz`` file, run with NumPy."""

    def __init__(self, path: Path) -> None:
        with np.load(path) as data:
            self.layers = [(data[f"conv{i}.weight"], data[f"conv{i}.bias"]) for i in range(6)]
            self.head = (data["head.weight"], float(data["head.bias"].reshape(())))
            self.meta: dict = json.loads(str(data["meta"]))

    @property
    def parameters(self) -> int:
        return sum(w.size + b.size for w, b in self.layers) + self.head[0].size + 1

    def logits(self, images: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [forward(images[s : s + CHUNK], self.layers, self.head) for s in range(0, len(images), CHUNK)]
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
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays
