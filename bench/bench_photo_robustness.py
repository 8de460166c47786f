"""How many eyes ``analyze_photo`` judges right on the labelled photos when the photos are degraded.

    nice python -m bench.bench_photo_robustness              # every change below (~4 minutes)
    nice python -m bench.bench_photo_robustness dark tilt20  # some of them

Each labelled photo in ``$EYE_PHOTOS`` (default ../shared/data/photos) is changed (darker, brighter, flatter, smaller,
recompressed, mirrored, tilted, turned sideways with no EXIF tag, grey), saved as PNG, and read by ``analyze_photo``.
A face photo has two eyes, a close-up one; an eye not found counts as wrong. Prints eyes right / eyes, and the misses.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageEnhance, ImageOps

from classifier import analyze_photo
from classifier.images import open_image

REPO = Path(__file__).resolve().parent.parent

PHOTOS = Path(os.environ.get("EYE_PHOTOS", REPO.parent / "shared" / "data" / "photos"))


def recompressed(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue()))


def narrowed(image: Image.Image, width: int) -> Image.Image:
    return image.resize((width, round(image.height * width / image.width)), Image.Resampling.BICUBIC)


CHANGES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "original": lambda image: image,
    "dark": lambda image: ImageEnhance.Brightness(image).enhance(0.5),
    "bright": lambda image: ImageEnhance.Brightness(image).enhance(1.6),
    "low_contrast": lambda image: ImageEnhance.Contrast(image).enhance(0.5),
    "jpeg30": lambda image: recompressed(image, 30),
    "width320": lambda image: narrowed(image, 320),
    "mirrored": ImageOps.mirror,
    "tilt20": lambda image: image.rotate(20, Image.Resampling.BILINEAR, expand=True, fillcolor=(128, 128, 128)),
    "sideways": lambda image: image.rotate(90, expand=True),
    "grey": lambda image: image.convert("L"),
}


def eyes_right(change: Callable[[Image.Image], Image.Image], rows: list[dict[str, str]], folder: Path) -> tuple:
    right, total, misses = 0, 0, []
    for row in rows:
        path = folder / (Path(row["file"]).stem + ".png")
        change(open_image(PHOTOS / row["file"]).convert("RGB")).save(path)
        result = analyze_photo(path)
        expected = 2 if row["kind"] == "face" else 1
        labels = [eye.label for eye in result.eyes][:expected]
        labels += ["missed"] * (expected - len(labels))
        good = sum(label == row["label"] for label in labels)
        right, total = right + good, total + expected
        if good < expected:
            misses.append(f"{row['file']} ({row['label']}: {', '.join(labels)})")
    return right, total, misses


def main() -> None:
    if not (PHOTOS / "labels.csv").exists():
        sys.exit(f"no labelled photos at {PHOTOS} (set EYE_PHOTOS)")
    names = sys.argv[1:] or list(CHANGES)
    unknown = set(names) - set(CHANGES)
    if unknown:
        sys.exit(f"unknown change(s) {', '.join(sorted(unknown))}; choose from {', '.join(CHANGES)}")
    with open(PHOTOS / "labels.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    with tempfile.TemporaryDirectory() as folder:
        for name in names:
            right, total, misses = eyes_right(CHANGES[name], rows, Path(folder))
            wrong = "; ".join(misses) or "none"
            print(f"{name:12s} {right:2d}/{total} eyes right; wrong or missed: {wrong}", flush=True)


if __name__ == "__main__":
    main()
