"""Open/closed eye classifier for 24x24 grayscale eye crops (and any image Pillow opens).

    from classifier import openEyeCheck, open_probability
    openEyeCheck("/full/path/eye.jpg")       # 1 open, 0 closed
    open_probability("/full/path/eye.jpg")   # P(open) in [0, 1]

The package never imports the bot; the weights in ``weights/`` load once, on first use.
"""

from classifier.inference import (
    EyeModel,
    eye_states,
    load_model,
    open_probabilities,
    open_probability,
    openEyeCheck,
)

__all__ = ["EyeModel", "eye_states", "load_model", "open_probabilities", "open_probability", "openEyeCheck"]
