"""Open/closed eye classifier for 24x24 grayscale eye crops (and any image Pillow opens).

    from classifier import openEyeCheck, open_probability
    openEyeCheck("/full/path/eye.jpg")       # 1 open, 0 closed
    open_probability("/full/path/eye.jpg")   # P(open) in [0, 1]

The package never imports the bot or torch: the network in ``weights/eyenet.onnx`` runs on ONNX Runtime, loaded
once, on first use. ``load_model().meta`` says what the file holds (threshold, labels, validation figures).
"""

from classifier.inference import (
    eye_states,
    load_model,
    open_probabilities,
    open_probability,
    openEyeCheck,
)
from classifier.model import EyeModel

__all__ = [
    "EyeModel",
    "analyze_photo",
    "eye_states",
    "load_model",
    "open_probabilities",
    "open_probability",
    "openEyeCheck",
]


def __getattr__(name: str):  # analyze_photo (faces and eyes in real photos) imports dlib only when first asked for
    if name == "analyze_photo":
        from classifier.photo import analyze_photo

        return analyze_photo
    raise AttributeError(f"module 'classifier' has no attribute {name!r}")
