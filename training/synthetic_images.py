"""Images with no eye that no photo gives enough of, for the close-up look's negatives: rendered pages of text and
synthetic 24x24 tiles.

- ``pages``: photo-sized pages of text in the fonts inside matplotlib's wheel, from small print to a few big words,
  light on dark or dark on light, some turned as a photographed page is.
- ``synthetic``: 24x24 tiles of noise, gradients, stripes, text, soft blobs, straight lines, cells and vessels
  (what microscope and retina photos are made of), drawn at 48x48, blurred a little and shrunk.

Both draw from the ``numpy`` generator they are given, so a seeded caller gets the same images every time.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from classifier.images import SIZE


def synthetic(count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` (24, 24) tiles in [0, 1], the makers taken in turn: noise, gradients, stripes, text, soft blobs,
    straight lines, cells and vessels (what microscope and retina photos are made of)."""
    makers = (_noise, _gradient, _stripes, _text, _blob, _line, _cells, _vessels)
    return np.stack([makers[i % len(makers)](rng) for i in range(count)])


def fonts() -> list[Path]:
    """The TrueType fonts inside matplotlib's wheel (DejaVu sans, serif and mono, STIX, Computer Modern): text
    in many faces, not only Pillow's one default."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None:
        return []
    folder = Path(spec.submodule_search_locations[0]) / "mpl-data" / "fonts" / "ttf"
    letters = ("DejaVu*.ttf", "STIXGeneral*.ttf", "cm[brt]*10.ttf", "cmss10.ttf")  # not the symbol-only fonts
    return sorted(path for pattern in letters for path in folder.glob(pattern) if "Display" not in path.name)


def font(size: int, rng: np.random.Generator) -> ImageFont.FreeTypeFont:
    """A random font of ``fonts()`` at ``size`` pixels, or Pillow's default where matplotlib is missing."""
    faces = fonts()
    return ImageFont.truetype(str(faces[rng.integers(len(faces))]), size) if faces else ImageFont.load_default(size)


def pages(count: int, rng: np.random.Generator) -> list[Image.Image]:
    """Photo-sized pages of rendered text, lines of it at one size (from small print to a few big words), light
    on dark or dark on light, some turned a little as a photographed page is."""
    out = []
    for _ in range(count):
        w, h = int(rng.integers(250, 600)), int(rng.integers(200, 450))
        background = int(rng.integers(150, 255))
        image = Image.new("L", (w, h), background)
        draw = ImageDraw.Draw(image)
        font_ = font(int(math.exp(rng.uniform(math.log(9), math.log(140)))), rng)
        letters = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,-"
        y = rng.uniform(-10, 10)
        while y < h:
            text = "".join(rng.choice(list(letters), int(rng.integers(3, 60))))
            draw.text((rng.uniform(-20, 20), y), text, fill=int(rng.integers(0, background - 80)), font=font_)
            y += font_.size * rng.uniform(1.1, 1.8)
        if rng.random() < 0.3:
            image = image.rotate(rng.uniform(-8, 8), Image.Resampling.BILINEAR, fillcolor=background)
        out.append(image if rng.random() < 0.7 else Image.eval(image, lambda v: 255 - v))
    return out


def _canvas(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:48, 0:48] / 48
    base = rng.uniform(0.2, 0.8) + rng.uniform(-0.3, 0.3) * xx + rng.uniform(-0.3, 0.3) * yy
    return base.astype(np.float32)


def _shrink(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    image = Image.fromarray((np.clip(pixels, 0, 1) * 255).astype(np.uint8))
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5)))
    return np.asarray(image.resize((SIZE, SIZE), Image.Resampling.BILINEAR, reducing_gap=2.0), np.float32) / 255


def _noise(rng: np.random.Generator) -> np.ndarray:
    size = int(rng.integers(3, 48))
    field = rng.normal(0, rng.uniform(0.05, 0.3), (size, size)).astype(np.float32)
    field = np.asarray(Image.fromarray(field).resize((48, 48), Image.Resampling.BICUBIC))
    return _shrink(_canvas(rng) + field, rng)


def _gradient(rng: np.random.Generator) -> np.ndarray:
    return _shrink(_canvas(rng) + rng.normal(0, 0.02, (48, 48)), rng)


def _stripes(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:48, 0:48]
    theta = rng.uniform(0, math.pi) if rng.random() < 0.5 else rng.normal(0, 0.2)
    wave = np.sin((xx * math.sin(theta) + yy * math.cos(theta)) * rng.uniform(0.2, 1.5) + rng.uniform(0, 6))
    return _shrink(_canvas(rng) + rng.uniform(0.05, 0.3) * wave, rng)


def _text(rng: np.random.Generator) -> np.ndarray:
    image = Image.fromarray((np.clip(_canvas(rng), 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    font_ = font(int(rng.integers(8, 60)), rng)  # from lines of print to one or two big letters
    letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,-eoaOQ"
    y = rng.uniform(-font_.size / 2, 10)
    while y < 48:
        text = "".join(rng.choice(list(letters), int(rng.integers(1, 12))))
        draw.text((rng.uniform(-20, 5), y), text, fill=int(rng.integers(0, 80)), font=font_)
        y += font_.size * rng.uniform(1.0, 1.6)
    pixels = np.asarray(image, np.float32) / 255
    return _shrink(pixels if rng.random() < 0.5 else 1 - pixels, rng)


def _blob(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:48, 0:48]
    pixels = _canvas(rng)
    for _ in range(int(rng.integers(1, 4))):
        cx, cy, rx, ry = rng.uniform(0, 48), rng.uniform(0, 48), rng.uniform(4, 30), rng.uniform(4, 30)
        pixels += rng.uniform(-0.4, 0.4) * np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))
    return _shrink(pixels, rng)


def _line(rng: np.random.Generator) -> np.ndarray:
    """A straight dark line right across flat ground (a table edge, a horizon, a crease). Not a short curved lash
    line: at 24x24 that is what a closed eye looks like, and teaching it as "not an eye" costs closed eyes."""
    yy, xx = np.mgrid[0:48, 0:48]
    pixels = _canvas(rng)
    y0, slope, thickness = rng.uniform(4, 44), rng.normal(0, 0.15), rng.uniform(0.8, 4)
    pixels -= rng.uniform(0.15, 0.6) * np.exp(-(((yy - y0 - slope * (xx - 24)) / thickness) ** 2))
    return _shrink(pixels + rng.normal(0, 0.02, (48, 48)), rng)


def _cells(rng: np.random.Generator) -> np.ndarray:
    """Round cells of one kind at random, touching or apart, each with a darker or lighter core."""
    yy, xx = np.mgrid[0:48, 0:48]
    pixels = _canvas(rng)
    radius, contrast = rng.uniform(3, 14), rng.uniform(-0.5, 0.5)
    for _ in range(int(rng.integers(2, 30))):
        cx, cy, r = rng.uniform(-5, 53), rng.uniform(-5, 53), radius * rng.uniform(0.7, 1.3)
        distance = np.hypot(xx - cx, yy - cy) / r
        pixels += contrast * np.clip(1 - distance, 0, 1) ** 0.3 + rng.uniform(-0.3, 0.3) * (distance < 0.4)
    return _shrink(pixels, rng)


def _vessels(rng: np.random.Generator) -> np.ndarray:
    """Dark branching curves narrowing as they go, on a smooth round ground: a retina's vessels."""
    image = Image.fromarray((np.clip(_canvas(rng), 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(1, 5))):
        x, y = rng.uniform(0, 48, 2)
        heading, width = rng.uniform(0, 2 * math.pi), rng.uniform(1, 5)
        shade = int(rng.integers(0, 100))
        for _ in range(int(rng.integers(5, 20))):
            heading += rng.normal(0, 0.4)
            step = rng.uniform(2, 6)
            end = (x + step * math.cos(heading), y + step * math.sin(heading))
            draw.line([(x, y), end], fill=shade, width=max(1, round(width)))
            (x, y), width = end, width * 0.93
    return _shrink(np.asarray(image, np.float32) / 255, rng)
