"""Train the close-up look: a small CNN that reads a whole face-less photo squeezed to 24x24 colour pixels and says
whether it is a close-up of one eye, written to ``weights/closeup.onnx`` (``classifier.closeup`` serves it;
``classifier.photo`` asks it when no face is sure).

    python -m training.closeup            # ≈ 10-16 min on one core; prints its figures
    train_closeup()                       # the same from Python: writes the file, returns the figures

1. Material (``training.closeup_data``: the photos, their split, where their eyes are):
   positives are rectangles around an eye of the training face photos and portraits, as a close-up frames it:
   from tighter than the eye (its corners cut off) to three eye widths wide, a thin band to a tall frame, the eye
   off-centre and turned up to 25 degrees (``closeup_rect``); and the pool's crops re-framed the same way within
   themselves. Negatives are rectangles of the same shapes around the faces' mouths, nostrils and brows, around
   the whole face, anywhere away from the eyes; rectangles and whole images of the photos with no eye, rendered
   pages, LFW's faces and non-faces, synthetic tiles (``training.synthetic_images``); and, after the first round,
   the rectangles of those photos that score highest (hard negatives).
   The photos are read in colour (the pool's crops, pages, LFW and synthetic tiles are grey: three equal channels).
2. Every image, eye or not, is changed the same random ways, colour too (``training.closeup_augment``), so that
   neither a tint nor being grey tells a close-up from anything else.
3. The threshold: the highest logit of held-out scenes (a photo no training image came from, its crops, pages and
   patterns) plus a margin; the close-ups cut around the held-out face photos' eyes give the share found, the
   held-out lower faces the share wrongly called close-ups. The labelled ``eye_closeup_*`` photos are never read
   here: ``bench.bench_closeups`` tests on them.
4. Export: ``training.export.export_onnx`` with the look's own metadata (format, input, threshold, how it was
   trained, its held-out figures, date, commit). Seeds and thread counts are fixed.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import math
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from tqdm import tqdm

from classifier.closeup import FORMAT, FORMAT_KEY, WEIGHTS, squeezed
from classifier.images import SIZE
from training import closeup_data as data
from training.cli import run_main
from training.closeup_augment import colour_jitter, photometric
from training.data import load_pool
from training.export import commit, export_onnx
from training.model import EyeNet
from training.synthetic_images import pages, synthetic

SEED = 0
THREADS = 1
FRAME_EYES = (0.55, 3.0)  # a close-up's width in eye widths: from cutting the eye's corners off to roomy
ASPECT = (0.45, 1.3)  # its height over its width: from a webcam band to a portrait frame
TURN = 25.0  # degrees the eye may be turned within its frame


class ColourNet(EyeNet):
    """EyeNet with one conv per stage reading three channels; each image standardised over all of them (so its
    colours' ratios stay), with a gentle floor under its contrast (dim close-ups)."""

    def __init__(self, width: int) -> None:
        super().__init__(width, depth=1)
        self.trunk[0] = nn.Conv2d(3, width, 3, padding=1, bias=False)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        mean = x.mean(dim=(1, 2, 3), keepdim=True)
        std = x.std(dim=(1, 2, 3), keepdim=True)
        return self.trunk((x - mean) / (std + 0.02))


def channels_first(images: np.ndarray) -> np.ndarray:
    """(N, 24, 24) grey or (N, 24, 24, 3) colour cuts as (N, 3, 24, 24)."""
    return np.repeat(images[:, None], 3, axis=1) if images.ndim == 3 else images.transpose(0, 3, 1, 2)


@dataclasses.dataclass(frozen=True)
class Recipe:
    width: int = 24  # ColourNet: 52k parameters; one 24x24 image a photo
    per_eye: int = 150  # positive rectangles per eye of a face photo
    per_part: int = 40  # negative rectangles per mouth, nostrils, brow and face
    per_photo: int = 400  # negative rectangles per photo (face photos away from their eyes, photos with no eye)
    pages: int = 16
    synthetic: int = 4_000
    mined_from: int = 2_000  # rectangles scored per training photo when mining
    mined_per_photo: int = 150
    rounds: int = 2
    epochs: int = 5
    batch: int = 256
    lr: float = 3e-3
    margin: float = 0.5


def closeup_rect(rng: np.random.Generator, eye_width: float) -> tuple[float, float, float, float, float]:
    """A close-up's frame around an eye at (0, 0): its centre's offset (along its own axes), width, height and turn."""
    width = eye_width * math.exp(rng.uniform(*np.log(FRAME_EYES)))
    height = width * rng.uniform(*ASPECT)
    dx, dy = rng.uniform(-0.22, 0.22) * width, rng.uniform(-0.2, 0.2) * height
    return dx, dy, width, height, rng.uniform(-TURN, TURN)


def rect_cuts(
    pyramid: data.Pyramid,
    spot: data.EyeSpot,
    count: int,
    rng: np.random.Generator,
    avoid: list[data.EyeSpot] = (),
) -> np.ndarray:
    """``count`` close-up frames (``closeup_rect``) around one spot of a photo, each squeezed to 24x24; none that
    holds one of the eyes in ``avoid`` as a close-up would (a brow's frame may reach down over its eye)."""
    out = []
    for _ in range(count * 3):
        if len(out) == count:
            break
        dx, dy, width, height, turn = closeup_rect(rng, spot.width)
        angle = spot.angle + turn
        c, s = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        x, y = spot.x + c * dx - s * dy, spot.y + s * dx + c * dy
        if not holds_an_eye_close(x, y, width, height, avoid):
            out.append(pyramid.cut_rect(x, y, width, height, angle))
    return channels_first(np.stack(out)) if out else np.empty((0, 3, SIZE, SIZE), np.float32)


def holds_an_eye_close(x: float, y: float, width: float, height: float, spots: list[data.EyeSpot]) -> bool:
    """Whether an upright rectangle holds an eye near its middle and is not much wider than a close-up: neither a
    clear close-up nor a clear non-one, so left out of the negatives."""
    return any(
        abs(spot.x - x) < 0.45 * width and abs(spot.y - y) < 0.45 * height and width < 4.0 * spot.width
        for spot in spots
    )


def random_rects(
    pyramid: data.Pyramid, size: tuple[int, int], spots: list[data.EyeSpot], count: int, rng: np.random.Generator
) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """``count`` upright rectangles anywhere in a photo (a tenth of it wide up to all of it), none a close-up of one
    of its eyes; and where each is (centre, width, height)."""
    w, h = size
    out, where = [], []
    for _ in range(count * 3):
        if len(out) == count:
            break
        width = w * math.exp(rng.uniform(math.log(0.1), 0.0))
        height = min(h, width * rng.uniform(*ASPECT)) if rng.random() < 0.8 else h * rng.uniform(0.3, 1.0)
        x, y = rng.uniform(width / 2, w - width / 2), rng.uniform(height / 2, h - height / 2)
        if min(width, height) >= 8 and not holds_an_eye_close(x, y, width, height, spots):
            out.append(pyramid.cut_rect(x, y, width, height))
            where.append((x, y, width, height))
    return (channels_first(np.stack(out)) if out else np.empty((0, 3, SIZE, SIZE), np.float32)), where


def pool_closeups(pool: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Pool crops (N, 1, 24, 24) as close-ups: a frame within each (``closeup_rect``, no wider than the crop, whose
    eye spans 2/3 of it) squeezed to 24x24, grey in three channels."""
    n = len(pool)
    frames = np.array([closeup_rect(rng, 1.0) for _ in range(n)])
    frames[:, 2:4] = np.minimum(frames[:, 2:4], 1.5)  # a pool crop holds 1.5 eye widths
    dx, dy, width, height, turn = (torch.tensor(column, dtype=torch.float32) for column in frames.T)
    grid = (torch.arange(SIZE, dtype=torch.float32) - (SIZE - 1) / 2) / SIZE
    gx, gy = grid[None, None, :] * width[:, None, None], grid[None, :, None] * height[:, None, None]
    gx, gy = (gx + dx[:, None, None]).expand(n, SIZE, SIZE), (gy + dy[:, None, None]).expand(n, SIZE, SIZE)
    c, s = torch.cos(turn * math.pi / 180)[:, None, None], torch.sin(turn * math.pi / 180)[:, None, None]
    scale = 2 / 1.5  # eye widths to the crop's -1..1
    sample = torch.stack([(c * gx - s * gy) * scale, (s * gx + c * gy) * scale], -1)
    return F.grid_sample(pool, sample, mode="bilinear", padding_mode="border", align_corners=False).repeat(1, 3, 1, 1)


@dataclasses.dataclass
class Material:
    pool: torch.Tensor  # (N, 1, 24, 24) grey, re-framed each epoch
    positives: np.ndarray
    negatives: np.ndarray
    scans: list[tuple[data.Pyramid, tuple[int, int], list[data.EyeSpot]]]  # for hard negative mining


def gather(recipe: Recipe, rng: np.random.Generator, progress: bool) -> Material:
    """Every positive and negative image to start from (the module docstring, 1.)."""
    _, pool = load_pool()
    grey = [data.lfw_windows(), synthetic(recipe.synthetic, rng)]
    positives, negatives, scans = [], [channels_first(images) for images in grey], []
    faces = data.face_photos(held=False)
    samples = [(name, data.sample_photo(name)) for name in data.TRAIN_SAMPLES + ("flower",)]
    samples += [(f"page {i}", page.convert("RGB")) for i, page in enumerate(pages(recipe.pages, rng))]
    face_names = {name for name, _ in faces}
    for name, image in tqdm(faces + samples, desc="close-up look: cutting", disable=not progress):
        spots, parts = data.face_spots(image.convert("L")) if name in face_names else ([], [])
        pyramid = data.Pyramid(image)
        positives += [rect_cuts(pyramid, spot, recipe.per_eye, rng) for spot in spots]
        # The face around its eyes, then its other parts framed as close-ups frame an eye.
        for i in range(0, len(spots) - 1, 2):
            a, b = spots[i], spots[i + 1]
            face = data.EyeSpot((a.x + b.x) / 2, (a.y + b.y) / 2, 0, (a.angle + b.angle) / 2, 2.5 * (a.width + b.width))
            negatives.append(rect_cuts(pyramid, face, recipe.per_part, rng, spots))
        negatives += [rect_cuts(pyramid, part, recipe.per_part, rng, spots) for part in parts]
        negatives.append(random_rects(pyramid, image.size, spots, recipe.per_photo, rng)[0])
        negatives.append(squeezed(image)[None])  # the whole photo
        scans.append((pyramid, image.size, spots))
    return Material(torch.from_numpy(pool).unsqueeze(1), np.concatenate(positives), np.concatenate(negatives), scans)


def mine(net: ColourNet, material: Material, recipe: Recipe, rng: np.random.Generator) -> np.ndarray:
    """The rectangles of the training photos that score highest without being a close-up of one of their eyes."""
    hard = []
    for pyramid, size, spots in material.scans:
        images, _ = random_rects(pyramid, size, spots, recipe.mined_from, rng)
        if len(images):
            hard.append(images[np.argsort(-logits(net, images))[: recipe.mined_per_photo]])
    return np.concatenate(hard)


def fit(
    net: ColourNet, material: Material, recipe: Recipe, rng: np.random.Generator, progress: bool, desc: str
) -> None:
    """One round: ``recipe.epochs`` passes over the material, the pool re-framed and everything changed anew each."""
    generator = torch.Generator().manual_seed(int(rng.integers(1 << 31)))
    positives = torch.from_numpy(material.positives)
    negatives = torch.from_numpy(material.negatives)
    n_pos = len(positives) + len(material.pool)
    optimiser = torch.optim.AdamW(net.parameters(), lr=recipe.lr, weight_decay=1e-4)
    steps = recipe.epochs * math.ceil((n_pos + len(negatives)) / recipe.batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, recipe.lr, total_steps=steps)
    pos_weight = torch.tensor(len(negatives) / n_pos)
    bar = tqdm(total=steps, desc=desc, disable=not progress)
    for _ in range(recipe.epochs):
        x = torch.cat([pool_closeups(material.pool, rng), positives, negatives])
        x = colour_jitter(photometric(x, generator), generator)
        y = torch.cat([torch.ones(n_pos), torch.zeros(len(negatives))])
        order = torch.randperm(len(x), generator=generator)
        net.train()
        for start in range(0, len(x), recipe.batch):
            rows = order[start : start + recipe.batch]
            loss = F.binary_cross_entropy_with_logits(net(x[rows]), y[rows], pos_weight=pos_weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            bar.update()
    bar.close()


def logits(net: ColourNet, images: np.ndarray, batch: int = 4096) -> np.ndarray:
    """Logits for (N, 3, 24, 24) images."""
    net.eval()
    with torch.no_grad():
        return torch.cat([net(torch.from_numpy(images[i : i + batch])) for i in range(0, len(images), batch)]).numpy()


def score(net: ColourNet, images: list[Image.Image]) -> list[float]:
    """Logits for whole photos, squeezed as ``classifier.closeup`` squeezes them."""
    return logits(net, np.stack([squeezed(image) for image in images])).tolist()


def train_closeup(out: Path = WEIGHTS, recipe: Recipe = Recipe(), seed: int = SEED, progress: bool = True) -> dict:
    """Train the close-up look, choose its threshold on held-out material, write ``out``; returns its figures."""
    started = time.time()
    torch.set_num_threads(THREADS)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    material = gather(recipe, rng, progress)
    net = ColourNet(recipe.width)
    for round_ in range(1, recipe.rounds + 1):
        fit(net, material, recipe, rng, progress, f"close-up look: round {round_}/{recipe.rounds}")
        if round_ < recipe.rounds:
            material.negatives = np.concatenate([material.negatives, mine(net, material, recipe, rng)])
    held = np.random.default_rng(seed + 1)
    closeups = score(net, data.held_out_closeups(held))
    scenes, lower_faces = data.held_out_scenes(held)
    scene_scores, face_scores = score(net, scenes), score(net, lower_faces)
    threshold = max(scene_scores) + recipe.margin
    summary = {
        "threshold": round(threshold, 3),
        "held_out_closeups_found": f"{sum(s >= threshold for s in closeups)}/{len(closeups)}",
        "held_out_scenes": len(scene_scores),
        "held_out_scene_max": round(max(scene_scores), 3),
        "held_out_lower_faces_called_closeups": f"{sum(s >= threshold for s in face_scores)}/{len(face_scores)}",
        "positives": len(material.pool) + len(material.positives),
        "negatives": len(material.negatives),
        "seconds": round(time.time() - started),
    }
    export_onnx(net, out, metadata(net, recipe, summary), probability="p_closeup", channels=3)
    return summary


def metadata(net: ColourNet, recipe: Recipe, summary: dict) -> dict[str, str]:
    """The look's own description (``classifier.closeup.CloseUpLook.meta``)."""
    return {
        FORMAT_KEY: FORMAT,
        "input": "image: float32 (N, 3, 24, 24), a whole RGB photo squeezed to 24x24, in [0, 1]; standardised inside",
        "outputs": "logit, p_closeup: float32 (N,); p_closeup = sigmoid(logit): the photo is a close-up of one eye",
        "threshold": str(summary["threshold"]),
        "threshold_rule": f"the highest logit of the held-out scenes (a photo, its crops, pages) + {recipe.margin}",
        "architecture": f"ColourNet: 3 stages x 1 conv3x3+BN+ReLU (RGB in), max-pool, width {net.width}, GAP, linear",
        "parameters": str(sum(p.numel() for p in net.parameters())),
        "training_material": (
            "in colour where the photo has it; positives: close-up frames around the eyes of the labelled face photos "
            "(two thirds) and the astronaut and Grace Hopper portraits, and the pool's (grey) crops re-framed; "
            "negatives: the same frames around their "
            "mouths, noses, brows and whole faces, rectangles away from the eyes, scikit-image sample photos without "
            "eyes, rendered pages, LFW 25x25, synthetic tiles, mined hard negatives; never the labelled eye close-ups"
        ),
        "held_out": repr({k: v for k, v in summary.items() if k != "threshold"}),
        "recipe": repr(dataclasses.asdict(recipe)),
        "trained": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d"),
        "commit": commit(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args()
    summary = train_closeup(args.out)
    print(f"saved {args.out} in {summary['seconds']} s: {summary}")


if __name__ == "__main__":
    run_main(main)
