"""The bot's only contact with the classifier: bytes in, verdict out, through a temporary file.

``classifier.analyze_photo`` decides what the picture is. A face photo is answered per face and per eye; a
picture of one eye (a crop or a close-up) by ``classifier.openEyeCheck`` with the confidence from the probability
API (the same part of the image, so the same numbers); anything else gets the classifier's reason.

Runs in a worker thread (never on the event loop). The temporary file lives in the bot's private directory and
is deleted in every path, including when the classifier raises. Nothing of the image is logged.
"""

from __future__ import annotations

import os
import tempfile
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
        if not is_eye_crop(name):  # a crop needs no face search: analyze_photo would only say "one eye"
            photo = classifier.analyze_photo(name)
            if photo.kind != "eye_closeup":
                return photo  # faces (each eye judged) or nothing to judge, with the reason
        # One eye: the verdict from openEyeCheck, the confidence from the probability API.
        return EyeVerdict(is_open=classifier.openEyeCheck(name) == 1, p_open=classifier.open_probability(name))
    except ValueError as error:
        raise UnreadableImageError(str(error).replace(name, "the file")) from None
    finally:
        Path(name).unlink(missing_ok=True)


def is_eye_crop(path: str) -> bool:
    """True for a crop-sized image (the pool's kind), from the header alone; False when unsure (the full path
    through ``analyze_photo`` then reads it, and says why if it cannot)."""
    try:
        with Image.open(path) as image:
            return max(image.size) <= CROP_SIDE
    except Exception:  # noqa: BLE001 — any failure here is reported properly by analyze_photo
        return False


def warm_up(workdir: Path) -> None:
    """Load the weights and make the first calls now, so the first user does not wait for them.

    Raises ``FileNotFoundError`` when the weights are missing: better to refuse to start than to answer
    "something went wrong" to everyone. (The classifier runs in NumPy; the bot's concurrency comes from its worker
    threads.)
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
