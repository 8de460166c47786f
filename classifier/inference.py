"""Load the committed weights once (lazily, thread-safe) and answer open/closed for eye images."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch

from classifier.images import PathLike, load_eye
from classifier.model import EyeNet, fold_batchnorm

WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "eyenet.pt"
BATCH = 512
# A 24x24 CNN gains little from intra-op threads, and on a busy machine they spin against each other
# (measured under load: 122 ms per openEyeCheck call with 2 threads, 6.5 ms with 1). Override with EYE_TORCH_THREADS.
THREADS_ENV = "EYE_TORCH_THREADS"


class EyeModel:
    """The trained EyeNet plus its calibration: ``p_open = sigmoid(logit * scale + shift)``."""

    def __init__(self, path: PathLike = WEIGHTS) -> None:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"model weights not found: {path} (run python -m classifier.train)")
        torch.set_num_threads(int(os.environ.get(THREADS_ENV, "1")))  # process-wide: see THREADS_ENV
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
        net = EyeNet(width=int(checkpoint["width"]))
        net.load_state_dict(checkpoint["state_dict"])
        net.eval()
        self.net = fold_batchnorm(net)  # same outputs, fewer operations per call
        self.scale = float(checkpoint.get("scale", 1.0))
        self.shift = float(checkpoint.get("shift", 0.0))
        self.meta: dict = dict(checkpoint.get("meta", {}))

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, 24, 24) float32 in [0, 1] → (N,) probability that each eye is open."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 3 or images.shape[1:] != (24, 24):
            raise ValueError(f"expected an (N, 24, 24) array, got shape {images.shape}")
        out = np.empty(len(images), dtype=np.float32)
        with torch.inference_mode():
            for start in range(0, len(images), BATCH):
                chunk = torch.from_numpy(images[start : start + BATCH]).unsqueeze(1)
                logits = self.net(chunk) * self.scale + self.shift
                out[start : start + BATCH] = torch.sigmoid(logits).numpy()
        return out


_model: EyeModel | None = None
_lock = threading.Lock()


def load_model(path: PathLike | None = None) -> EyeModel:
    """The shared model (loaded on first use); pass ``path`` to load other weights, uncached."""
    global _model
    if path is not None:
        return EyeModel(path)
    if _model is None:
        with _lock:
            if _model is None:
                _model = EyeModel()
    return _model


def open_probability(path: PathLike) -> float:
    """Probability in [0, 1] that the eye in the image at ``path`` is open."""
    return float(load_model().probabilities(load_eye(path)[None])[0])


def open_probabilities(paths: Iterable[PathLike]) -> list[float]:
    """``open_probability`` for many paths at once (batched, same numbers as one at a time)."""
    paths = list(paths)
    if not paths:
        return []
    return [float(p) for p in load_model().probabilities(np.stack([load_eye(p) for p in paths]))]


def openEyeCheck(inpIm: PathLike) -> int:  # noqa: N802, N803 — the names the task specifies
    """1 if the eye in the image at the full path ``inpIm`` is open, 0 if closed."""
    return int(open_probability(inpIm) >= 0.5)


def eye_states(paths: Sequence[PathLike]) -> list[int]:
    """``openEyeCheck`` for many paths at once."""
    return [int(p >= 0.5) for p in open_probabilities(paths)]
