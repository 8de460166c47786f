"""Hand labelling helper: numbered contact sheets in, decisions recorded into ``labels/labels.csv``.

Convention (also in the README):
  open     — any part of the iris or pupil is visible, even a narrow slit or a squint;
  closed   — the lids meet and no iris shows;
  unusable — not an eye at all (blank, a nose, hair, an unreadable smear); counted, never trained on.

Flow:
  python -m classifier.labelling sheet val     # next 48 unlabelled images of the random validation draw
  python -m classifier.labelling sheet train   # next images the selection algorithm asked for
  # look at the PNG, then type one letter per tile in sheet order (o=open, c=closed, u=unusable):
  python -m classifier.labelling record /tmp/eye_sheets/val_000.txt "oocoo cocco ..."
  python -m classifier.labelling relook        # blind, shuffled sheet of labelled crops that need another look
  python -m classifier.labelling record /tmp/eye_sheets/look_000.txt "..."

Every look is kept in ``labels/looks.csv``; a crop's label is the majority of its looks. A relook sheet holds
crops with a single look (the second look) and crops whose looks have no majority (a deciding look), shuffled
together so that no split, earlier decision or model score shows.

Validation images are a seeded random draw (``random``); training images come, in order, from
``labels/train_queue.csv``, written by the selection algorithm (``classifier.select``) with its reason per image.
"""

from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from classifier.data import (
    REPO,
    Label,
    decide,
    pool_dir,
    pool_files,
    read_labels,
    read_looks,
    write_labels,
    write_looks,
)

VAL_SIZE = 500  # random validation draw; the issue asks for at least 400 usable
VAL_SEED = 20261122
TRAIN_QUEUE = REPO / "labels" / "train_queue.csv"
SHEETS = Path("/tmp/eye_sheets")
CODES = {"o": "open", "c": "closed", "u": "unusable"}
RELOOK_SEED = 20261123
MAX_LOOKS = 5


def validation_draw(files: list[str], size: int = VAL_SIZE, seed: int = VAL_SEED) -> list[str]:
    """The seeded random validation sample, in labelling order."""
    return random.Random(seed).sample(files, size)


def train_queue() -> list[tuple[str, str]]:
    """``[(file, reason), …]`` in the order the selection algorithm ranked them."""
    if not TRAIN_QUEUE.exists():
        raise FileNotFoundError(f"{TRAIN_QUEUE} missing: run python -m classifier.select first")
    with TRAIN_QUEUE.open(newline="") as handle:
        return [(row["file"], row["reason"]) for row in csv.DictReader(handle)]


def render_sheet(
    paths: list[Path], out: Path, columns: int = 8, scale: int = 5, captions: list[str] | None = None
) -> Path:
    """Tile the images, upscaled ``scale`` times, each with its index (or caption) under it."""
    tile = 24 * scale
    caption_height = 14
    rows = (len(paths) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * (tile + 4), rows * (tile + caption_height + 4)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for index, path in enumerate(paths):
        x, y = (index % columns) * (tile + 4), (index // columns) * (tile + caption_height + 4)
        with Image.open(path) as image:
            # Smooth upscaling and per-tile autocontrast make dark or washed-out crops readable to a person.
            tile_image = ImageOps.autocontrast(image.convert("L"), cutoff=1)
            sheet.paste(tile_image.resize((tile, tile), Image.Resampling.BICUBIC).convert("RGB"), (x, y))
        text = captions[index] if captions else str(index)
        draw.text((x + 2, y + tile + 1), text, fill="black", font=font)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out


def next_batch(split: str, count: int) -> list[tuple[str, str]]:
    """The next ``count`` (file, how) pairs of ``split`` that have no decision yet."""
    done = {row.file for row in read_labels()}
    if SHEETS.exists():  # sheets rendered but not yet recorded are not handed out twice
        done |= {line.split(",")[1] for listing in SHEETS.glob("*.txt") for line in listing.read_text().splitlines()}
    if split == "val":
        candidates = [(name, "random") for name in validation_draw(pool_files())]
    else:
        candidates = train_queue()
    return [(name, how) for name, how in candidates if name not in done][:count]


def needs_another_look(looks: list[str]) -> bool:
    """One look is not a label yet, and neither are looks without a strict majority, up to ``MAX_LOOKS``: a crop
    still split after that many looks stays unusable."""
    if len(looks) >= MAX_LOOKS:
        return False
    return len(looks) < 2 or 2 * max(looks.count(label) for label in set(looks)) <= len(looks)


def relook_batch(count: int, seed: int = RELOOK_SEED) -> list[tuple[str, str]]:
    """Up to ``count`` (file, split) pairs of labelled crops that need another look, in a seeded shuffle."""
    looks = read_looks()
    pending = set()
    if SHEETS.exists():
        pending = {line.split(",")[1] for listing in SHEETS.glob("look_*.txt") for line in listing.read_text().split()}
    due = [(r.file, r.split) for r in read_labels() if needs_another_look(looks[r.file]) and r.file not in pending]
    random.Random(seed).shuffle(due)
    return due[:count]


def make_sheet(split: str, count: int = 48) -> Path:
    """Render the next batch as ``/tmp/eye_sheets/<split>_<n>.png`` plus a ``.txt`` listing it.

    ``split`` "look" renders a relook sheet; its listing lines are ``look,<file>,<split>``."""
    batch = relook_batch(count) if split == "look" else next_batch(split, count)
    if not batch:
        raise SystemExit(f"nothing left to {'look at again' if split == 'look' else 'label in ' + split}")
    number = len([*SHEETS.glob(f"{split}_*.txt"), *SHEETS.glob(f"{split}_*.recorded")]) if SHEETS.exists() else 0
    out = SHEETS / f"{split}_{number:03d}.png"
    render_sheet([pool_dir() / name for name, _ in batch], out, scale=6 if split == "look" else 5)
    out.with_suffix(".txt").write_text("".join(f"{split},{name},{how}\n" for name, how in batch))
    return out


def record(listing: Path, decisions: str) -> int:
    """Store one letter per listed image (spaces ignored) into the labels CSV; returns how many were stored."""
    letters = [ch for ch in decisions.lower() if not ch.isspace()]
    entries = [line.split(",", 2) for line in listing.read_text().splitlines() if line]
    if len(letters) != len(entries):
        raise SystemExit(f"{listing} lists {len(entries)} images but {len(letters)} decisions were given")
    unknown = sorted(set(letters) - set(CODES))
    if unknown:
        raise SystemExit(f"unknown decision letters {unknown}; use o (open), c (closed), u (unusable)")
    rows = {row.file: row for row in read_labels()}
    looks = read_looks()
    for (kind, name, detail), ch in zip(entries, letters, strict=True):
        if kind == "look":  # another look at a labelled crop: its label becomes the majority of all its looks
            looks[name].append(CODES[ch])
            rows[name] = Label(name, decide(looks[name]), detail, rows[name].how)
        else:  # a first look: ``kind`` is the split and ``detail`` how the image was chosen
            looks[name] = [CODES[ch]]
            rows[name] = Label(name, CODES[ch], kind, detail)
    write_labels(list(rows.values()))
    write_looks(looks, {row.file: row.split for row in rows.values()})
    listing.rename(listing.with_suffix(".recorded"))  # no longer pending; recording it twice would add looks twice
    return len(entries)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    sheet = commands.add_parser("sheet", help="render the next contact sheet of a split")
    sheet.add_argument("split", choices=("val", "train"))
    sheet.add_argument("--count", type=int, default=48)
    relook = commands.add_parser("relook", help="render a blind sheet of labelled crops that need another look")
    relook.add_argument("--count", type=int, default=48)
    rec = commands.add_parser("record", help="record decisions for a rendered sheet")
    rec.add_argument("listing", type=Path)
    rec.add_argument("decisions")
    args = parser.parse_args()
    if args.command in ("sheet", "relook"):
        print(make_sheet(getattr(args, "split", "look"), args.count))
    else:
        print(f"recorded {record(args.listing, args.decisions)} decisions")


if __name__ == "__main__":
    main()
