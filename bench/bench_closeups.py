"""How well the close-up rule (``classifier.photo._looks_like_one_eye``) and the learned close-up look
(``classifier.closeup``: the whole photo squeezed to 24x24 colour pixels), alone and together, tell an eye close-up
from anything else. ``classifier.photo`` asks the look when no face is sure, before dlib's CNN face detector.

    python -m bench.bench_closeups [--look weights/closeup.onnx]

Positives: the labelled close-ups of ``$EYE_PHOTOS`` (default ../shared/data/photos), each as it is and changed
the ways real close-ups differ from them (tighter, wider, a 189x104 webcam crop, dim, desaturated, another size,
grey, tilted, the eye in part of the frame).
Negatives: scikit-image's sample photos with no face (a cat, a coffee cup, a rocket, cells, a retina, galaxies, a
colour wheel, and a page of text and sklearn's landscape, none of them trained on), whole and as 40 random crops
each, and the lower halves of the labelled face photos (skin, mouths, chins; a third of them, the held-out ones,
never trained on; in a photo whose face sits low, the lower half holds the eyes). Prints, in one run, how many of
each the rule, the look and the two together (rule or look) call an eye (a union's false eyes can never be fewer
than either side's).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
from collections import Counter
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image, ImageEnhance, ImageFilter

from classifier import photo
from classifier.closeup import WEIGHTS as LOOK_WEIGHTS
from classifier.closeup import CloseUpLook
from classifier.images import open_image

PHOTOS = Path(os.environ.get("EYE_PHOTOS", Path(__file__).resolve().parent.parent.parent / "shared/data/photos"))
NEGATIVE_SAMPLES = ("cat", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina", "hubble_deep_field")
NEGATIVE_SAMPLES += ("colorwheel", "text")


def centre(image: Image.Image, fx: float, fy: float) -> Image.Image:
    w, h = image.size
    cw, ch = int(w * fx), int(h * fy)
    return image.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch))


CHANGES = {
    "as it is": lambda im: im,
    "tighter (60%)": lambda im: centre(im, 0.6, 0.6),
    "tighter (45%)": lambda im: centre(im, 0.45, 0.45),
    "wider band (90% x 60%)": lambda im: centre(im, 0.9, 0.6),
    "webcam crop, 189x104": lambda im: centre(im, 0.8, 0.5).resize((189, 104)),
    "166x195": lambda im: centre(im, 0.7, 0.9).resize((166, 195)),
    "dim (x0.4)": lambda im: ImageEnhance.Brightness(im).enhance(0.4),
    "desaturated (x0.4)": lambda im: ImageEnhance.Color(im).enhance(0.4),
    "grey": lambda im: im.convert("L").convert("RGB"),
    "tilted 20 degrees": lambda im: im.rotate(20, Image.Resampling.BILINEAR, expand=True, fillcolor=(128, 128, 128)),
    "eye in part of the frame": lambda im: framed(im),
}


def framed(image: Image.Image) -> Image.Image:
    """The close-up pasted into the left of a frame twice its width, over a blurred copy of itself: the eye fills
    only part of the photo."""
    w, h = image.size
    canvas = image.resize((2 * w, round(1.3 * h))).filter(ImageFilter.GaussianBlur(w / 8))
    canvas.paste(image, (w // 8, round(0.15 * h)))
    return canvas


def sample_pixels(name: str) -> np.ndarray:
    """A scikit-image sample photo, or sklearn's landscape ("china"), as float RGB."""
    if name == "china":
        folder = Path(importlib.util.find_spec("sklearn").submodule_search_locations[0]) / "datasets" / "images"
        return np.asarray(Image.open(folder / "china.jpg").convert("RGB"), dtype=np.float64)
    pixels = np.asarray(getattr(skimage.data, name)(), dtype=np.float64)
    return np.stack([pixels] * 3, axis=-1) if pixels.ndim == 2 else pixels[..., :3]


def negatives() -> list[tuple[str, Image.Image]]:
    rng = np.random.default_rng(0)
    out = []
    for name in NEGATIVE_SAMPLES + ("china",):
        pixels = sample_pixels(name)
        pixels = 255 * (pixels - pixels.min()) / max(1e-9, pixels.max() - pixels.min())  # any dtype to 8 bits
        image = Image.fromarray(pixels.astype(np.uint8)).convert("RGB")
        out.append((f"{name} (whole)", image))
        width, height = image.size
        for _ in range(40):
            aspect = rng.uniform(0.8, 2.5)  # the shapes a close-up may have, so every crop meets the rule's test
            w = int(rng.uniform(0.25, 0.9) * width)
            h = int(w / aspect)
            if h > height:
                w, h = int(height * aspect), height
            x, y = rng.integers(0, width - w + 1), rng.integers(0, height - h + 1)
            if max(w, h) > photo.SMALL_EYE_IMAGE:
                out.append((f"{name} (crop)", image.crop((x, y, x + w, y + h))))
    for path in sorted(PHOTOS.glob("face_*.jpg")):
        image = open_image(path).convert("RGB")
        half = image.crop((0, image.height // 2, image.width, image.height))
        if half.width > 2.5 * half.height:  # a wide photo's lower half: keep the middle, close-up shaped
            half = half.crop(((half.width - 2 * half.height) // 2, 0, (half.width + 2 * half.height) // 2, half.height))
        out.append(("lower half of a face photo", half))
    return out


COLUMNS = ("rule", "look", "rule or look")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--look", type=Path, default=LOOK_WEIGHTS, help="the close-up look's weights file")
    args = parser.parse_args()
    look = CloseUpLook(args.look)

    def judged(image: Image.Image) -> dict[str, bool]:
        """Each detector's answer for one image."""
        rule = photo._looks_like_one_eye(image)
        look_says = look.score(image) >= look.threshold
        return {"rule": rule, "look": look_says, "rule or look": rule or look_says}

    header = " | ".join(COLUMNS)
    closeups = sorted(PHOTOS.glob("eye_closeup_*.jpg"))
    if closeups:
        print(f"eye close-ups called an eye ({len(closeups)} labelled photos, {PHOTOS}), {header}:")
        totals = Counter()
        for change, apply in CHANGES.items():
            counts = Counter()
            for path in closeups:
                answers = judged(apply(open_image(path).convert("RGB")))
                counts.update(column for column in COLUMNS if answers[column])
            totals.update(counts)
            said = " | ".join(f"{counts[column]:3d}" for column in COLUMNS)
            print(f"  {change:26s} {said} / {len(closeups)}")
        said = " | ".join(f"{totals[column]:3d}" for column in COLUMNS)
        print(f"  {'all':26s} {said} / {len(closeups) * len(CHANGES)}")
    else:
        print(f"no labelled close-ups at {PHOTOS}: positives skipped")
    cases = negatives()
    eyes = {column: Counter() for column in COLUMNS}
    for kind, image in cases:
        answers = judged(image)
        for column in COLUMNS:
            eyes[column][kind] += answers[column]
    whole = sum(kind.endswith("(whole)") for kind, _ in cases)
    said = " | ".join(str(sum(eyes[column].values())) for column in COLUMNS)
    print(f"non-eye images called an eye, {header}: {said} of {len(cases)} ({whole} whole photos)")
    for kind in sorted({kind for kind, _ in cases}):
        if any(eyes[column][kind] for column in COLUMNS):
            print(f"  {kind:32s} " + " | ".join(f"{eyes[column][kind]:3d}" for column in COLUMNS))


if __name__ == "__main__":
    main()
