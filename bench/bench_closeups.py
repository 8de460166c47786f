"""How well the close-up rule (``classifier.photo._looks_like_one_eye``) tells an eye close-up from anything else.

    python -m bench.bench_closeups

Positives: the labelled close-ups of ``$EYE_PHOTOS`` (default ../shared/data/photos), each as it is and changed
the ways real close-ups differ from them (tighter, wider, a 189x104 webcam crop, dim, desaturated, another size).
Negatives: scikit-image's sample photos with no face (a cat, a coffee cup, a rocket, cells, a retina, galaxies, a
colour wheel), whole and as 40 random crops each, and the lower halves of the labelled face photos (skin, mouths,
chins: the hardest case for a skin-and-edges rule). Prints how many of each the rule calls an eye.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import numpy as np
import skimage.data
from PIL import Image, ImageEnhance

from classifier import photo
from classifier.images import open_image

PHOTOS = Path(os.environ.get("EYE_PHOTOS", Path(__file__).resolve().parent.parent.parent / "shared/data/photos"))
NEGATIVE_SAMPLES = ("cat", "coffee", "chelsea", "rocket", "immunohistochemistry", "retina", "hubble_deep_field")
NEGATIVE_SAMPLES += ("colorwheel",)


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
}


def negatives() -> list[tuple[str, Image.Image]]:
    rng = np.random.default_rng(0)
    out = []
    for name in NEGATIVE_SAMPLES:
        pixels = np.asarray(getattr(skimage.data, name)())[..., :3].astype(np.float64)
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


def main() -> None:
    closeups = sorted(PHOTOS.glob("eye_closeup_*.jpg"))
    if closeups:
        print(f"eye close-ups called an eye ({len(closeups)} labelled photos, {PHOTOS}):")
        total = 0
        for change, apply in CHANGES.items():
            found = sum(photo._looks_like_one_eye(apply(open_image(path)).convert("RGB")) for path in closeups)
            total += found
            print(f"  {change:24s} {found:2d} / {len(closeups)}")
        print(f"  {'all':24s} {total} / {len(closeups) * len(CHANGES)}")
    else:
        print(f"no labelled close-ups at {PHOTOS}: positives skipped")
    cases = negatives()
    false_eyes = Counter(kind for kind, image in cases if photo._looks_like_one_eye(image))
    whole = sum(kind.endswith("(whole)") for kind, _ in cases)
    print(f"non-eye images called an eye: {sum(false_eyes.values())} of {len(cases)} ({whole} whole photos)")
    for kind, count in sorted(false_eyes.items()):
        print(f"  {kind:32s} {count}")


if __name__ == "__main__":
    main()
