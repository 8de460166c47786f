"""Load the committed weights once (lazily, thread-safe) and answer open/closed for eye images."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from classifier.engine import NumpyEyeNet
from classifier.images import PathLike, load_eye

WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "eyenet.npz"


class EyeModel:
    """The trained EyeNet (BatchNorm folded, run with NumPy: no torch needed to answer)."""

    def __init__(self, path: PathLike = WEIGHTS) -> None:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"model weights not found: {path} (run python -m classifier.train)")
        self.net = NumpyEyeNet(path)
        self.meta: dict = self.net.meta

    @property
    def parameters(self) -> int:
        return self.net.parameters

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, 24, 24) float32 in [0, 1] → (N,) probability that each eye is open."""
        images = np.asarray(images, dtype=np.float32)
        if images.ndim != 3 or images.shape[1:] != (24, 24):
            raise ValueError(f"expected an (N, 24, 24) array, got shape {images.shape}")
        if len(images) == 0:
            return np.empty(0, dtype=np.float32)
        logits = self.net.logits(images)
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


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
