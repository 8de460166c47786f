"""The close-up look (``classifier.closeup``, asked by ``analyze_photo`` when no face is sure): its weights file
describes itself and is not mistaken for the eye-state model's, it reads the whole photo squeezed to 24x24 in
colour, it calls no cat, coffee cup, landscape, rocket or page of text a close-up, it calls the labelled close-ups
one, colour or grey, and it finds the issue's grey, tilted and framed close-ups. What it still gets wrong (tight
crops and bands of closed eyes, crops of the Hubble deep field) is measured by ``python -m bench.bench_closeups``;
how ``analyze_photo`` uses it is tested in ``tests/test_photo.py``.

The close-up tests use the labelled close-ups of ``../shared/data/photos`` (or ``$EYE_PHOTOS``), never trained on,
and skip while they are missing; the rest needs only the wheels' sample photos.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from classifier import closeup
from classifier.closeup import CloseUpLook, squeezed
from classifier.images import open_image
from classifier.model import WEIGHTS as EYE_STATE_WEIGHTS
from classifier.model import EyeModel

REPO = Path(__file__).resolve().parent.parent
PHOTOS = Path(os.environ.get("EYE_PHOTOS", REPO.parent / "shared" / "data" / "photos"))
needs_weights = pytest.mark.skipif(not closeup.WEIGHTS.is_file(), reason=f"no weights at {closeup.WEIGHTS}")


def sample(package: str, folder: str, name: str) -> Image.Image:
    spec = importlib.util.find_spec(package)
    if spec is None:
        pytest.fail(f"{package} is not installed: pip install -r requirements-dev.txt")
    return Image.open(Path(spec.submodule_search_locations[0]) / folder / name).convert("RGB")


@needs_weights
def test_the_weights_file_describes_itself() -> None:
    look = CloseUpLook()
    for key in ("input", "outputs", "threshold", "threshold_rule", "architecture", "parameters", "held_out"):
        assert look.meta.get(key), f"metadata lacks {key}"
    assert look.meta[closeup.FORMAT_KEY] == closeup.FORMAT
    assert "never the labelled eye close-ups" in look.meta["training_material"]
    assert look.threshold == float(look.meta["threshold"])


@needs_weights
def test_the_two_weights_files_are_not_mistaken_for_each_other() -> None:
    with pytest.raises(ValueError, match="not a close-up look"):
        CloseUpLook(EYE_STATE_WEIGHTS)
    with pytest.raises(ValueError, match="not an eye-state classifier"):
        EyeModel(closeup.WEIGHTS)


def test_missing_weights_say_where_they_were_looked_for(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nothing.onnx"):
        CloseUpLook(tmp_path / "nothing.onnx")


def test_the_whole_photo_is_squeezed_whatever_its_shape() -> None:
    """A wide band keeps all of its width: a red left quarter stays the left quarter of the 24x24 input, in the red
    channel only; a grey photo gives three equal channels."""
    pixels = np.zeros((104, 189, 3), np.uint8)
    pixels[:, : 189 // 4, 0] = 255
    seen = squeezed(Image.fromarray(pixels))
    assert seen.shape == (3, 24, 24) and seen.dtype == np.float32
    assert seen[0, :, :5].min() > 0.9 and seen[0, :, 7:].max() < 0.1 and seen[1:].max() == 0
    grey = squeezed(Image.fromarray(pixels[..., 0]))
    assert np.array_equal(grey[0], grey[1]) and np.array_equal(grey[1], grey[2])


@needs_weights
@pytest.mark.parametrize(
    "image",
    [
        pytest.param(lambda: sample("skimage", "data", "chelsea.png"), id="cat"),
        pytest.param(lambda: sample("skimage", "data", "coffee.png"), id="coffee cup"),
        pytest.param(lambda: sample("sklearn", "datasets/images", "china.jpg"), id="landscape"),
        pytest.param(lambda: sample("skimage", "data", "rocket.jpg"), id="rocket"),
        pytest.param(lambda: sample("skimage", "data", "text.png"), id="page of text"),
    ],
)
def test_no_close_up_in_photos_without_an_eye(image) -> None:
    look = CloseUpLook()
    assert look.score(image()) < look.threshold


@needs_weights
@pytest.mark.parametrize("grey", [False, True], ids=["colour", "grey"])
def test_most_close_ups_are_called_close_ups(grey: bool) -> None:
    """Measured with the shipped file: 11 of 12 in colour, 12 grey (the rule finds no grey close-up at all)."""
    paths = sorted(PHOTOS.glob("eye_closeup_*.jpg"))
    if not paths:
        pytest.skip(f"no labelled close-ups in {PHOTOS} (set EYE_PHOTOS)")
    look = CloseUpLook()
    found = sum(look.score(open_image(path).convert("L" if grey else "RGB")) >= look.threshold for path in paths)
    assert found >= len(paths) - 1, found


def framed(image: Image.Image) -> Image.Image:
    """The close-up in the left of a frame twice its width, over a blurred copy of itself (as bench_closeups)."""
    w, h = image.size
    canvas = image.resize((2 * w, round(1.3 * h))).filter(ImageFilter.GaussianBlur(w / 8))
    canvas.paste(image, (w // 8, round(0.15 * h)))
    return canvas


ISSUE_CASES = {  # issue 12: grey close-ups, tilted ones, ones where the eye fills only part of the frame
    "grey": lambda im: im.convert("L").convert("RGB"),
    "tilted": lambda im: im.rotate(20, Image.Resampling.BILINEAR, expand=True, fillcolor=(128, 128, 128)),
    "in part of the frame": framed,
}


ISSUE_FOUND = {"grey": 11, "tilted": 9, "in part of the frame": 9}  # measured: 12, 10 and 10 of 12


@needs_weights
@pytest.mark.parametrize("case", ISSUE_CASES)
def test_the_look_finds_grey_tilted_and_framed_close_ups(case: str) -> None:
    """As ``bench.bench_closeups`` counts them, with one to spare: the look finds 12 grey, 10 tilted and 10 framed
    of the 12 (the colour rule: 0, 10 and 11)."""
    paths = sorted(PHOTOS.glob("eye_closeup_*.jpg"))
    if not paths:
        pytest.skip(f"no labelled close-ups in {PHOTOS} (set EYE_PHOTOS)")
    look = CloseUpLook()
    found = sum(look.score(ISSUE_CASES[case](open_image(path).convert("RGB"))) >= look.threshold for path in paths)
    assert found >= ISSUE_FOUND[case], found
