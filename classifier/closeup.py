"""The close-up look: a small learned network that reads a whole face-less photo and says whether it is a
close-up of one eye.

    from classifier.closeup import closeup_score
    score, threshold = closeup_score(image)   # a PIL image, "RGB" or "L"; a close-up when score >= threshold

How: the photo is squeezed to 24x24 colour pixels whatever its shape (``squeezed``: Pillow's reducing resize; a
grey photo gives three equal channels), and the network in ``weights/closeup.onnx`` (written by ``python -m
training.closeup``, trained on the same kind of squeezed frames, in colour and grey alike) gives one logit. Colour
counts: skin around a lash line is most of what a tight crop of a closed eye shows. Read whole, an eye that fills or
overflows the frame (a tight crop, a webcam band) is simply an eye stretched across the picture. ``classifier.photo``
asks it when no face is sure, before dlib's CNN face detector.

The weights load once, lazily and thread-safely, in one ONNX Runtime session (``EYE_THREADS`` intra-op threads).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import onnxruntime as ort
from PIL import Image

from classifier.images import SIZE
from classifier.model import session_options

FORMAT_KEY = "closeup_format"
FORMAT = "2"  # bump when the graph's input or outputs change meaning (1: grey (N, 24, 24); 2: colour)
WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "closeup.onnx"


def squeezed(image: Image.Image) -> np.ndarray:
    """The whole photo as the network reads it: (3, 24, 24) float32 RGB in [0, 1], its shape not kept."""
    small = image.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(small, dtype=np.float32).transpose(2, 0, 1) * np.float32(1 / 255)


class CloseUpLook:
    """One ONNX Runtime session over a close-up weights file; ``score`` is safe to call from many threads."""

    def __init__(self, path: str | Path = WEIGHTS) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"close-up weights not found: {self.path} (python -m training.closeup)")
        try:
            self.session = ort.InferenceSession(self.path, session_options(), providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for unreadable files
            raise ValueError(f"{self.path} is not a readable ONNX model (truncated or damaged?): {error}") from error
        self.meta: dict[str, str] = dict(self.session.get_modelmeta().custom_metadata_map)
        inputs = self.session.get_inputs()
        takes_colour = [i.name for i in inputs] == ["image"] and inputs[0].shape[1:] == [3, SIZE, SIZE]
        if self.meta.get(FORMAT_KEY) != FORMAT or not takes_colour:
            raise ValueError(f"{self.path} is an ONNX model, but not a close-up look of format {FORMAT}")
        self.threshold = float(self.meta["threshold"])

    def score(self, image: Image.Image) -> float:
        """The logit that ``image`` (any mode Pillow converts to RGB) is a close-up of one eye."""
        return float(self.session.run(["logit"], {"image": squeezed(image)[None]})[0][0])


_look: CloseUpLook | None = None
_lock = threading.Lock()


def load_look() -> CloseUpLook:
    """The shared close-up look (loaded on first use)."""
    global _look
    if _look is None:
        with _lock:
            if _look is None:
                _look = CloseUpLook()
    return _look


def closeup_score(image: Image.Image) -> tuple[float, float]:
    """The shared look's logit for ``image`` and its threshold (see the module docstring)."""
    look = load_look()
    return look.score(image), look.threshold
