"""The bot's only contact with the classifier: bytes in, verdict out, through a temporary file.

A crop-sized picture (the pool's kind) is one eye: the probability API gives the confidence, and the verdict is
``classifier.openEyeCheck``'s (the same probability against the model's threshold), from one model pass.
Anything bigger goes to ``classifier.analyze_photo``: faces are answered per face (both eyes together) and per
eye, a close-up by its eye, and a picture with neither gets "no face or eye found".

Runs in a worker thread (never on the event loop). The temporary file lives in the bot's private directory and
is deleted in every path, including when the classifier raises. Nothing of the image is logged.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path

from PIL import Image

import classifier
from bot.replies import EyeVerdict
from classifier.images import CROP_SIDE
from classifier.photo import PhotoResult

WARM_UP_RUNS = 3  # the first calls pay for loading the weights and warming caches; do that at start-up


class UnreadableImageError(ValueError):
    """The classifier could not read the image; the message says why, without our temporary path."""


def classify_image(data: bytes | bytearray, workdir: Path, suffix: str = ".jpg") -> EyeVerdict | PhotoResult:
    """Save ``data`` to a temporary file in ``workdir``, ask the classifier about it, delete the file.

    Raises ``UnreadableImageError`` (carrying the classifier's ``ValueError`` reason) when the image cannot be read.
    """
    handle, name = tempfile.mkstemp(prefix="eye-", suffix=suffix, dir=workdir)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        if is_eye_crop(name):  # one eye, read as openEyeCheck reads it (its verdict is p_open >= the threshold)
            p_open = classifier.open_probability(name)
            return EyeVerdict(is_open=classifier.load_model().is_open(p_open), p_open=p_open)
        return classifier.analyze_photo(name)
    except ValueError as error:
        raise UnreadableImageError(str(error).replace(name, "the file")) from None
    finally:
        Path(name).unlink(missing_ok=True)


def is_eye_crop(path: str) -> bool:
    """True for a crop-sized image (the pool's kind), from the header alone; False when unsure (the full path
    through ``analyze_photo`` then reads it, and says why if it cannot)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # analyze_photo refuses it in words
            with Image.open(path) as image:
                return max(image.size) <= CROP_SIDE
    except Exception:  # noqa: BLE001 — any failure here is reported properly by analyze_photo
        return False


def warm_up(workdir: Path) -> None:
    """Load the weights and make the first calls now, so the first user does not wait for them.

    Raises ``FileNotFoundError`` when the weights are missing (``ValueError`` when they are damaged): better to
    refuse to start than to answer "something went wrong" to everyone.
    """
    handle, name = tempfile.mkstemp(prefix="warm-up-", suffix=".png", dir=workdir)
    try:
        os.close(handle)
        Image.new("L", (24, 24), 128).save(name)
        for _ in range(WARM_UP_RUNS):
            classifier.open_probability(name)
        Image.new("L", (200, 200), 128).save(name)
        classifier.analyze_photo(name)  # loads the face detector and landmark model (about half a second)
    finally:
        Path(name).unlink(missing_ok=True)
