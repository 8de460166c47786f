"""The close-up look's photos: which ones it learns from and which it is measured on, where their eyes are, and
how a rectangle of a photo is cut and squeezed to 24x24 the way ``classifier.closeup`` squeezes a whole photo.

1. Photos. Face photos: the labelled ``face_*`` photos of ``$EYE_PHOTOS`` (default ../shared/data/photos) except a
   held-out third (``held_out``), plus the astronaut and Grace Hopper portraits inside the scikit-image and
   matplotlib wheels. Photos with no eye: scikit-image sample photos (``TRAIN_SAMPLES``; those the benchmark and
   the tests judge, the cat, the coffee cup, the rocket, the text page, the retina, the deep field and the colour
   wheel, are never used) and sklearn's flower (``sample_photo``), and scikit-image's 25x25 LFW faces and
   non-faces (``lfw_windows``). The labelled ``eye_closeup_*`` photos are never read: they are the test.
2. Where the eyes are: dlib's 5-point landmarks (``classifier.photo``'s face look) give each eye's centre, width
   and tilt (``EyeSpot``), and from them the face's mouth, nostrils and brows (``face_spots``): the parts a close-up
   look must not take for an eye.
3. Cutting: ``Pyramid.cut_rect`` cuts any turned rectangle of a photo squeezed to 24x24 from a level of a halving
   pyramid, so that a big rectangle is not aliased; past the photo's edge its edge pixels repeat.
4. Held-out material (``held_out_closeups``, ``held_out_scenes``): close-ups cut around the eyes of the held-out
   face photos, and scenes no training image came from; the threshold is chosen on the scenes.
"""

from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from classifier import photo
from classifier.images import SIZE, open_image
from training.data import REPO
from training.synthetic_images import pages, synthetic

PHOTOS = Path(os.environ.get("EYE_PHOTOS", REPO.parent / "shared" / "data" / "photos"))
# scikit-image sample photos with no eye to train on; those the benchmark and the tests judge are never used.
TRAIN_SAMPLES = ("camera", "brick", "grass", "gravel", "page", "coins", "horse", "moon", "motorcycle_left")
TRAIN_SAMPLES += ("logo", "cell", "clock_motion", "chessboard_GRAY", "microaneurysms", "phantom")
PORTRAITS = ("astronaut", "grace_hopper")  # faces inside the scikit-image and matplotlib wheels, trained on


def held_out(name: str) -> bool:
    """A third of the face photos (every third number) is never trained on: the threshold is chosen on them."""
    return int(name.split("_")[1].split(".")[0]) % 3 == 0


# --- 1. photos -----------------------------------------------------------------------------------------------------


def sample_photo(name: str) -> Image.Image:
    """A colour photo that ships inside a PyPI wheel: scikit-image's data, matplotlib's sample data, sklearn's
    images."""
    places = (("skimage", "data"), ("matplotlib", "mpl-data/sample_data"), ("sklearn", "datasets/images"))
    for package, folder in places:
        spec = importlib.util.find_spec(package)
        if spec is None:
            continue
        root = Path(spec.submodule_search_locations[0]) / folder
        for suffix in (".png", ".jpg"):
            if (root / f"{name}{suffix}").exists():
                return Image.open(root / f"{name}{suffix}").convert("RGB")
    raise FileNotFoundError(f"no sample photo named {name} in scikit-image, matplotlib or scikit-learn")


def lfw_windows() -> np.ndarray:
    """scikit-image's 25x25 LFW subset as (200, 24, 24) grey: 100 whole faces and 100 non-faces, none a close-up."""
    spec = importlib.util.find_spec("skimage")
    faces = np.load(Path(spec.submodule_search_locations[0]) / "data" / "lfw_subset.npy")
    return np.stack([np.asarray(Image.fromarray(f.astype(np.float32)).resize((SIZE, SIZE))) for f in faces])


def face_photos(held: bool) -> list[tuple[str, Image.Image]]:
    """The labelled face photos of one side of the split in colour, plus the two portraits in wheels for training."""
    out = []
    for path in sorted(PHOTOS.glob("face_*.jpg")):
        if held_out(path.name) == held:
            out.append((path.name, open_image(path).convert("RGB")))
    if not held:
        out += [(name, sample_photo(name)) for name in PORTRAITS]
    return out


# --- 2. where the eyes are -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EyeSpot:
    """An eye (or a face part) in a photo: its centre, the side of the pool's framing around it, its tilt, its
    width."""

    x: float
    y: float
    side: float
    angle: float  # degrees, clockwise on screen
    width: float  # corner to corner


def eye_spots(gray: Image.Image) -> list[EyeSpot]:
    """Every eye the landmark model finds, framed as ``classifier.photo`` frames the eyes it judges."""
    return face_spots(gray)[0]


def face_spots(gray: Image.Image) -> tuple[list[EyeSpot], list[EyeSpot]]:
    """Every eye the landmark model finds (framed as ``classifier.photo`` frames the eyes it judges), and the
    parts of those faces that look most like an eye at 24x24: the mouth (closed lips are a closed eye's nearest
    decoy), the nostrils, and each brow without its eye."""
    eyes, parts = [], []
    for _, points in photo._find_faces(gray):
        face_eyes = []
        for corners in (points[0:2], points[2:4]):
            width = float(np.linalg.norm(corners[1] - corners[0]))
            dx, dy = corners[1] - corners[0]
            angle = math.degrees(math.atan2(dy, dx))
            angle = (angle + 90) % 180 - 90  # the line's direction, whichever corner came first
            centre = corners.mean(0)
            down = np.array([-math.sin(math.radians(angle)), math.cos(math.radians(angle))])
            x, y = centre - photo.RAISE * width * down
            face_eyes.append(EyeSpot(float(x), float(y), photo.FRAME * width, angle, width))
        eyes += face_eyes
        parts += _parts_of(face_eyes, points[4])
    return eyes, parts


def _parts_of(eyes: list[EyeSpot], nose: np.ndarray) -> list[EyeSpot]:
    """A face's mouth, nostrils and brows from its two eyes and the point under its nose (where faces usually have
    them: the mouth about 0.6 of the eyes-to-nose drop below the nose, as wide as the eyes are apart)."""
    between = np.array([(eyes[0].x + eyes[1].x) / 2, (eyes[0].y + eyes[1].y) / 2])
    apart = math.hypot(eyes[0].x - eyes[1].x, eyes[0].y - eyes[1].y)
    angle = (eyes[0].angle + eyes[1].angle) / 2
    mouth = nose + 0.6 * (nose - between)
    parts = [
        EyeSpot(float(mouth[0]), float(mouth[1]), photo.FRAME * apart, angle, apart),
        EyeSpot(float(nose[0]), float(nose[1]), photo.FRAME * 0.6 * apart, angle, 0.6 * apart),
    ]
    for eye in eyes:  # the brow, about an eye width above the eye's middle
        down = np.array([-math.sin(math.radians(eye.angle)), math.cos(math.radians(eye.angle))])
        x, y = np.array([eye.x, eye.y]) - 0.8 * eye.width * down
        parts.append(EyeSpot(float(x), float(y), eye.side, eye.angle, eye.width))
    return parts


# --- 3. cutting ----------------------------------------------------------------------------------------------------


class Pyramid:
    """A photo at halving sizes, so that any rectangle can be cut at 24x24 without aliasing; pixels past the frame
    repeat the edge's. A grey photo gives (24, 24) cuts, a colour one (24, 24, 3)."""

    def __init__(self, image: Image.Image) -> None:
        self.levels = [np.asarray(image, dtype=np.float32) / 255]
        while min(image.size) > 32:
            image = image.reduce(2)
            self.levels.append(np.asarray(image, dtype=np.float32) / 255)

    def cut_rect(self, x: float, y: float, width: float, height: float, angle: float = 0.0) -> np.ndarray:
        """The ``width`` x ``height`` rectangle centred at (x, y), turned by ``angle`` degrees, squeezed to 24x24
        as a whole photo is resized to it."""
        longest = max(width, height)
        level = min(len(self.levels) - 1, max(0, math.ceil(math.log2(longest / (SIZE * 1.4)))))  # steps <= 1.4 px
        pixels = self.levels[level]
        scale = pixels.shape[1] / self.levels[0].shape[1]
        grid = (np.arange(SIZE) - (SIZE - 1) / 2) / SIZE
        gx, gy = np.meshgrid(grid, grid)
        gx, gy = gx * width * scale, gy * height * scale
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        px = (x * scale - 0.5) + c * gx - s * gy
        py = (y * scale - 0.5) + s * gx + c * gy
        return bilinear(pixels, px, py)


def bilinear(pixels: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """``pixels`` (grey or colour) read at the points (px, py), clamped to the picture: its edge repeats past it."""
    h, w = pixels.shape[:2]
    px, py = np.clip(px, 0, w - 1), np.clip(py, 0, h - 1)
    x0, y0 = np.minimum(px.astype(int), w - 2 if w > 1 else 0), np.minimum(py.astype(int), h - 2 if h > 1 else 0)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = px - x0, py - y0
    if pixels.ndim == 3:  # colour: the same weights for every channel
        fx, fy = fx[..., None], fy[..., None]
    top = pixels[y0, x0] * (1 - fx) + pixels[y0, x1] * fx
    bottom = pixels[y1, x0] * (1 - fx) + pixels[y1, x1] * fx
    return (top * (1 - fy) + bottom * fy).astype(np.float32)


# --- 4. held-out material ------------------------------------------------------------------------------------------


def held_out_closeups(rng: np.random.Generator) -> list[Image.Image]:
    """Close-ups cut around the eyes of the held-out face photos, in colour, each enlarged to a close-up's size
    and some of them dimmed, flattened or turned about the eye."""
    out = []
    for _, image in face_photos(held=True):
        for spot in eye_spots(image.convert("L")):
            if spot.width < 12:
                continue  # too small to make a close-up of
            fw = spot.width * rng.uniform(0.9, 2.6)  # from an eye overfilling the frame to one with room
            fh = min(fw, spot.width * rng.uniform(0.7, 2.0))
            left = spot.x - fw / 2 + rng.uniform(-0.15, 0.15) * fw
            top = spot.y - fh / 2 + rng.uniform(-0.15, 0.15) * fh
            crop = image.crop((round(left), round(top), round(left + fw), round(top + fh)))
            zoom = rng.uniform(150, 500) / max(crop.size)
            crop = crop.resize((round(crop.width * zoom), round(crop.height * zoom)), Image.Resampling.BICUBIC)
            change = rng.integers(4)
            if change == 1:
                crop = ImageEnhance.Brightness(crop).enhance(0.4)
            elif change == 2:
                crop = ImageEnhance.Contrast(crop).enhance(0.5)
            elif change == 3:  # turned about the eye, which is near the middle
                eye = ((spot.x - round(left)) * zoom, (spot.y - round(top)) * zoom)
                angle = rng.uniform(-20, 20)
                crop = crop.rotate(angle, Image.Resampling.BILINEAR, center=eye, fillcolor=(128, 128, 128))
            out.append(crop)
    return out


def held_out_scenes(rng: np.random.Generator) -> tuple[list[Image.Image], list[Image.Image]]:
    """Face-less colour images no training image came from: (a photo and its crops, and synthetic pages and
    patterns; the held-out face photos below their eyes: noses, mouths, chins)."""
    motorcycle = sample_photo("motorcycle_right")
    scenes = [motorcycle]
    for _ in range(20):
        w = int(rng.uniform(0.2, 0.9) * motorcycle.width)
        h = int(min(motorcycle.height, w / rng.uniform(0.8, 2.5)))
        x, y = rng.integers(0, motorcycle.width - w + 1), rng.integers(0, motorcycle.height - h + 1)
        scenes.append(motorcycle.crop((x, y, x + w, y + h)))
    for tile in synthetic(24, rng):  # pages and patterns, enlarged to photo size
        tile = Image.fromarray((tile * 255).astype(np.uint8)).convert("RGB")
        scenes.append(tile.resize((int(rng.integers(150, 500)),) * 2))
    scenes += [page.convert("RGB") for page in pages(4, rng)]
    lower_faces = []
    for _, image in face_photos(held=True):
        spots = eye_spots(image.convert("L"))
        below = max((spot.y + spot.side for spot in spots), default=image.height // 2)
        if image.height - below > 0.15 * image.height:
            lower_faces.append(image.crop((0, round(below), image.width, image.height)))
    return scenes, lower_faces
