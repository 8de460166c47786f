"""Answer open/closed for eye images with the shared model (loaded once, lazily, thread-safe).

Every entry point reads an image the same way (``judge``): a crop-sized image (at most ``CROP_SIDE`` pixels a side,
like the training pool) is the eye, read whole; a bigger photo is searched for faces and eyes
(``classifier.photo``): a face answers with both its eyes' evidence together (the largest face, if several), a
close-up with its eye. A photo where neither is found is read as the eye it was said to be, on a centred square.
"""

from __future__ import annotations

import os
import threading
import traceback
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from classifier.images import CROP_SIDE, PathLike, fast_crop, open_image, to_model_input
from classifier.model import EyeModel

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


@dataclass(frozen=True)
class Judgement:
    """One image's answer and what it rests on."""

    p_open: float  # probability that the eyes are open
    found: Literal["crop", "face", "eye_closeup", "no eye found"]  # the last: read whole, on a centred square
    eyes: int  # eyes the answer rests on


def _read(path: PathLike) -> tuple[np.ndarray | None, object]:
    """A crop's 24x24 model input, or (None, the opened photo) for anything bigger."""
    fast = fast_crop(path)
    if fast is not None:
        return fast, None
    image = open_image(path)
    return (to_model_input(image), None) if max(image.size) <= CROP_SIDE else (None, image)


def judge(path: PathLike) -> Judgement:
    """The answer for the image at ``path`` (see the module docstring for how a photo is read)."""
    crop, image = _read(path)  # not through judge_many: openEyeCheck's hot path, one crop, no batch bookkeeping
    if crop is not None:
        return Judgement(float(load_model().probabilities(crop[None])[0]), "crop", 1)
    return _judge_photo(image)


def _judge_photo(image) -> Judgement:
    from classifier.photo import analyze_image  # dlib loads only when a photo needs it

    result = analyze_image(image)
    if result.p_open is not None:
        eyes = 1 if result.kind == "eye_closeup" else 2
        return Judgement(result.p_open, result.kind, eyes)
    return Judgement(float(load_model().probabilities(to_model_input(image)[None])[0]), "no eye found", 1)


def judge_each(paths: Iterable[PathLike]) -> list[Judgement | Exception]:
    """``judge`` for many paths, crops batched (same numbers as one at a time); a file that cannot be read or
    judged gets its exception in its place instead of stopping the others. A photo is judged as soon as it is
    read, so only the small crops are held at once."""
    return _judge_all(paths, stop_at_error=False)


def _judge_all(paths: Iterable[PathLike], stop_at_error: bool) -> list[Judgement | Exception]:
    out: list[Judgement | Exception | None] = []
    crops: list[np.ndarray] = []
    for path in _each(paths):
        try:
            crop, image = _read(path)
            if crop is None:
                out.append(_judge_photo(image))
                continue
        except (ImportError, MemoryError):
            raise  # the installation or the machine, not this file: every other file would fail the same way
        except Exception as error:  # noqa: BLE001 — one bad file must not stop the batch; it is returned, not lost
            if stop_at_error:
                raise
            traceback.clear_frames(error.__traceback__)  # keep the message, free the decoded photo its frames hold
            image = None  # this frame is in every traceback too, and cannot be cleared while it runs
            out.append(error)
            continue
        out.append(None)  # the crop's place, filled below from one batched model call
        crops.append(crop)
    p_crops = iter(load_model().probabilities(np.stack(crops)) if crops else [])
    return [Judgement(float(next(p_crops)), "crop", 1) if item is None else item for item in out]


def _each(paths: Iterable[PathLike]) -> Iterable[PathLike]:
    if isinstance(paths, (str, bytes, os.PathLike)):  # a lone path would be iterated letter by letter
        raise TypeError(f"expected a list of paths, got the single path {paths!r}: use open_probability for one")
    return paths


def judge_many(paths: Iterable[PathLike]) -> list[Judgement]:
    """``judge`` for many paths, crops batched; the first file that cannot be read raises at once, as ``judge``
    would."""
    return [j for j in _judge_all(paths, stop_at_error=True) if isinstance(j, Judgement)]  # all are, or it raised


def open_probability(path: PathLike) -> float:
    """Probability in [0, 1] that the eye (or the eyes of the face) in the image at ``path`` is open."""
    return judge(path).p_open


def open_probabilities(paths: Iterable[PathLike]) -> list[float]:
    """``open_probability`` for many paths at once (batched, same numbers as one at a time). One unreadable file
    raises for the whole call, as ``open_probability`` would for it; ``python -m classifier`` goes on past it."""
    return [j.p_open for j in judge_many(paths)]


def openEyeCheck(inpIm: PathLike) -> int:  # noqa: N802, N803 — the names the task specifies
    """1 if the eye in the image at the full path ``inpIm`` is open, 0 if closed."""
    return int(load_model().is_open(open_probability(inpIm)))


def eye_states(paths: Sequence[PathLike]) -> list[int]:
    """``openEyeCheck`` for many paths at once."""
    model = load_model()
    return [int(model.is_open(p)) for p in open_probabilities(paths)]
