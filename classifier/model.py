"""The trained network, served by ONNX Runtime from one self-describing file (``weights/eyenet.onnx``).

The file is written by the training package (``python -m training.train``). Its graph takes a float32
(N, 24, 24) batch of crops in [0, 1] and standardises each crop itself; its metadata says what a user must know
(``EyeModel.meta``: threshold, label convention, architecture, labels used, validation figures, date, commit).
One session per file, CPU provider, ``EYE_THREADS`` intra-op threads (default 1: a 24x24 crop is too small to
split, and the bot runs two inferences side by side on two cores).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnxruntime as ort

FORMAT_KEY = "eye_state_format"
FORMAT = "1"  # bump when the graph's input or outputs change meaning
WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "eyenet.onnx"
THREADS_ENV = "EYE_THREADS"


def session_options() -> ort.SessionOptions:
    """ONNX Runtime settings for our small models: ``EYE_THREADS`` intra-op threads (default 1), errors only."""
    raw = os.environ.get(THREADS_ENV, "1").strip()
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{THREADS_ENV} must be a whole number of threads, at least 1 (got {raw!r})")
    options = ort.SessionOptions()
    options.intra_op_num_threads = int(raw)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: the graph's own warnings are no news to a user
    return options


class EyeModel:
    """One ONNX Runtime session over a weights file; ``probabilities`` is safe to call from many threads."""

    def __init__(self, path: str | os.PathLike = WEIGHTS) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"model weights not found: {self.path} (python -m training.train writes them)")
        options = session_options()  # a bad EYE_THREADS is its own error, not "damaged weights"
        try:
            self.session = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for unreadable files
            raise ValueError(f"{self.path} is not a readable ONNX model (truncated or damaged?): {error}") from error
        self.meta: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        inputs = self.session.get_inputs()
        takes_crops = [i.name for i in inputs] == ["image"] and inputs[0].shape[1:] == [24, 24]
        if self.meta.get(FORMAT_KEY) != FORMAT or not takes_crops:
            raise ValueError(
                f"{self.path} is an ONNX model, but not an eye-state classifier of format {FORMAT} "
                "(expected input 'image' of shape (N, 24, 24) and metadata written by training.export)"
            )
        self.threshold = float(self.meta.get("threshold", "0.5"))
        # Below this confidence an answer is "hard to tell" (chosen on validation by the training package).
        self.unsure_below = float(self.meta.get("unsure_below", "0.6"))

    def is_open(self, p_open: float) -> bool:
        """The verdict for a probability: open at or above the file's threshold (every entry point uses this)."""
        return p_open >= self.threshold

    @property
    def parameters(self) -> int:
        return int(self.meta.get("parameters", "0"))

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(N, 24, 24) float32 in [0, 1] → (N,) probability that each eye is open."""
        images = np.ascontiguousarray(images, dtype=np.float32)
        if images.ndim != 3 or images.shape[1:] != (24, 24):
            raise ValueError(f"expected an (N, 24, 24) array, got shape {images.shape}")
        if len(images) == 0:
            return np.empty(0, dtype=np.float32)
        return self.session.run(["p_open"], {"image": images})[0]
