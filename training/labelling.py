"""Blind labelling sessions: shuffled numbered contact sheets out, one look per crop per labeller back in.

The convention is ``labels/CONVENTION.md``; the reference sheet shows clear examples of every label. A session is
one labeller's look at a set of crops, on sheets shuffled for that labeller alone, showing no split, no earlier
look and no model score:

    python -m training.labelling session A --split val        # /tmp/eye_labelling/A/: README, reference, sheets
    # the labeller writes one letter per tile into /tmp/eye_labelling/A/answers.txt (o c s u)
    python -m training.labelling collect A                    # their looks into labels/looks.csv, labels.csv anew
    python -m training.labelling status                       # looks so far, agreement (Fleiss' kappa)

``--split train`` takes the first ``--budget`` crops of ``labels/train_queue.csv`` (``training.select``), ``both``
mixes the two so the split does not show either; ``--split new`` takes the queued crops no one has looked at
yet; ``--split unsure`` takes the crops whose looks do not make a
label yet (``training.data.decide``), for more looks. The key from tiles to files stays outside the labeller's folder.

Validation crops are a seeded random draw of the pool (``validation_draw``), never trained on.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import random
import shutil
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from training.cli import positive_int, run_main
from training.data import (
    REPO,
    ROUND,
    Look,
    derive_labels,
    looks_by_file,
    pool_dir,
    pool_files,
    read_labels,
    read_looks,
    unanimous,
    write_labels,
    write_looks,
)
from training.metrics import fleiss_kappa

VAL_SIZE = 500  # random validation draw
VAL_SEED = 20261122
TRAIN_QUEUE = REPO / "labels" / "train_queue.csv"
REFERENCE_CSV = REPO / "labels" / "reference.csv"
CONVENTION = REPO / "labels" / "CONVENTION.md"
SESSIONS = Path("/tmp/eye_labelling")
CODES = {"o": "open", "c": "closed", "s": "unsure", "u": "unusable"}
TILES = 40  # per sheet: 8 columns by 5 rows at 6x stay readable in one look
SCALE = 6
SHEET_WIDTH = 1200  # pixels: as many columns as fit, so a sheet is read without scrolling


def validation_draw(files: list[str], size: int = VAL_SIZE, seed: int = VAL_SEED) -> list[str]:
    """The seeded random validation sample, in labelling order."""
    if len(files) < size:
        raise ValueError(f"the pool has {len(files)} crops, fewer than the {size} the validation draw takes")
    return random.Random(seed).sample(files, size)


def train_queue() -> list[tuple[str, str]]:
    """``[(file, reason), …]`` in the order the selection algorithm ranked them."""
    if not TRAIN_QUEUE.exists():
        raise FileNotFoundError(f"{TRAIN_QUEUE} missing: run python -m training.select first")
    with TRAIN_QUEUE.open(newline="") as handle:
        return [(row["file"], row["reason"]) for row in csv.DictReader(handle)]


def reference_crops() -> list[tuple[str, str, str]]:
    """``[(file, label, caption), …]`` of the reference sheet."""
    with REFERENCE_CSV.open(newline="") as handle:
        return [(row["file"], row["label"], row["caption"]) for row in csv.DictReader(handle)]


def render_sheet(
    paths: list[Path], out: Path, columns: int = 8, scale: int = SCALE, captions: list[str] | None = None
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


def render_reference(out: Path) -> Path:
    """The reference sheet: each crop of ``labels/reference.csv`` with its caption."""
    crops = reference_crops()
    return render_sheet([pool_dir() / f for f, _, _ in crops], out, captions=[c for _, _, c in crops])


def crops_for(split: str, budget: int) -> list[tuple[str, str]]:
    """``[(file, split), …]`` a session shows: the validation draw, the training queue's first ``budget``, both,
    the queue's crops among its first ``budget`` that no one has looked at yet (``new``), or the crops whose looks do
    not yet make a label (``unsure``)."""
    val = [(name, "val") for name in validation_draw(pool_files())]
    train = [(name, "train") for name, _ in train_queue()[:budget]]
    if split == "unsure":
        return [(row.file, row.split) for row in read_labels() if row.label == "unsure"]
    if split == "new":
        return [(name, "train") for name, _ in train[:budget] if name not in looks_by_file(read_looks())]
    return {"val": val, "train": train, "both": val + train}[split]


def session_folder(labeller: str) -> Path:
    return SESSIONS / labeller


def key_path(labeller: str) -> Path:
    return SESSIONS / ".keys" / f"{labeller}.csv"


def start_session(labeller: str, crops: list[tuple[str, str]], tiles: int = TILES, scale: int = SCALE) -> Path:
    """Render ``labeller``'s shuffled sheets, the reference sheet and instructions; keep the key apart."""
    if not labeller.isalnum():
        raise SystemExit(f"labeller name {labeller!r}: letters and digits only")
    seen = {look.file for look in read_looks() if look.labeller == labeller and look.round == ROUND}
    if again := [f for f, _ in crops if f in seen]:
        raise SystemExit(f"{labeller} has looked at {len(again)} of these crops already; a look must be independent")
    if key_path(labeller).exists():  # starting again would wipe the open session's answers.txt
        raise SystemExit(f"{labeller} has a session not yet collected: `collect {labeller}` first")
    folder = session_folder(labeller)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    order = list(crops)
    random.Random(int(hashlib.sha256(labeller.encode()).hexdigest(), 16)).shuffle(order)
    sheets = [order[i : i + tiles] for i in range(0, len(order), tiles)]
    columns = max(1, SHEET_WIDTH // (24 * scale + 4))
    key_path(labeller).parent.mkdir(exist_ok=True)
    with key_path(labeller).open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["sheet", "tile", "file", "split"])
        for number, sheet in enumerate(sheets):
            render_sheet([pool_dir() / f for f, _ in sheet], folder / f"sheet_{number:03d}.png", columns, scale)
            writer.writerows((number, tile, f, s) for tile, (f, s) in enumerate(sheet))
    render_reference(folder / "reference.png")
    counts = ", ".join(f"sheet_{n:03d}.png: {len(s)} tiles" for n, s in enumerate(sheets))
    (folder / "README.md").write_text(
        f"# Labelling session {labeller}\n\n{CONVENTION.read_text()}\n"
        "## What to do\n\n"
        "1. Look at `reference.png` first: clear examples of each label, captioned.\n"
        f"2. Then look at each sheet in turn ({counts}). Tiles are numbered from 0, left to right, top to bottom,\n"
        f"   {columns} to a row.\n"
        "3. For each sheet write one line into `answers.txt`: the sheet's name, a colon, then one letter per tile\n"
        "   in tile order: `o` open, `c` closed, `s` unsure, `u` unusable (spaces between letters are ignored),\n"
        "   e.g. `sheet_000: ooco csoo ...`.\n\n"
        "Judge each crop on its own. Look only at the files in this folder.\n"
    )
    (folder / "answers.txt").write_text("")
    return folder


def read_answers(labeller: str) -> list[Look]:
    """The session's answers as looks, checked against the key: every tile of every sheet, one known letter."""
    if not key_path(labeller).exists():
        raise SystemExit(f"{labeller}: no open session (a collected session cannot be collected again)")
    with key_path(labeller).open(newline="") as handle:
        key = list(csv.DictReader(handle))
    answers: dict[int, str] = {}
    for number, line in enumerate((session_folder(labeller) / "answers.txt").read_text().splitlines(), 1):
        if line.strip():
            name, colon, letters = line.partition(":")
            sheet = name.strip().removeprefix("sheet_").removesuffix(".png")
            if not colon or not sheet.isdigit():
                raise SystemExit(f"{labeller}: answers.txt line {number}: expected 'sheet_NNN: letters', got {line!r}")
            if int(sheet) in answers:
                raise SystemExit(f"{labeller}: answers.txt line {number}: sheet_{int(sheet):03d} answered twice")
            answers[int(sheet)] = "".join(letters.lower().split())
    looks = []
    for number in sorted({int(row["sheet"]) for row in key}):
        tiles = [row for row in key if int(row["sheet"]) == number]
        letters = answers.get(number, "")
        if len(letters) != len(tiles):
            raise SystemExit(f"{labeller}: sheet_{number:03d} has {len(tiles)} tiles but {len(letters)} answers")
        if unknown := sorted(set(letters) - set(CODES)):
            raise SystemExit(f"{labeller}: sheet_{number:03d} has unknown letters {unknown}; use o, c, s or u")
        looks += [Look(r["file"], r["split"], ROUND, labeller, CODES[ch]) for r, ch in zip(tiles, letters, strict=True)]
    return looks


def collect(labeller: str) -> int:
    """Append the session's looks to ``labels/looks.csv`` and derive ``labels/labels.csv`` again."""
    new = read_answers(labeller)
    looks = read_looks() + new
    # Everything that can fail (the pool, the queue, the labels) before the first file is written: a collect that
    # stopped half-way would leave the looks recorded and the key uncollected, to be counted twice.
    how = {name: "random" for name in validation_draw(pool_files())}
    how |= dict(train_queue())
    how |= {row.file: row.how for row in read_labels()}
    labels = derive_labels(looks, how)
    write_looks(looks)
    write_labels(labels)
    key_path(labeller).rename(key_path(labeller).with_suffix(".collected"))  # collecting twice would count twice
    return len(new)


def status() -> str:
    """Looks per split and labeller, and how well the labellers agree."""
    looks = [look for look in read_looks() if look.round == ROUND]
    lines = []
    for split in ("val", "train"):
        mine = [k for k in looks if k.split == split]
        votes = looks_by_file(mine)
        labellers = sorted({k.labeller for k in mine})
        full = [v for v in votes.values() if len(v) >= 3]
        kappa = fleiss_kappa([v[:3] for v in full], list(CODES.values())) if full else float("nan")
        lines.append(
            f"{split}: {len(votes)} crops, labellers {', '.join(labellers) or '-'}; "
            f"{sum(map(unanimous, votes.values()))} unanimous; Fleiss' kappa of the first three looks {kappa:.3f}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    session = commands.add_parser("session", help="render one labeller's blind, shuffled sheets")
    session.add_argument("labeller")
    session.add_argument("--split", choices=("val", "train", "both", "new", "unsure"), default="val")
    session.add_argument("--budget", type=positive_int, default=200, help="training crops from the queue (default 200)")
    session.add_argument("--tiles", type=positive_int, default=TILES, help=f"tiles per sheet (default {TILES})")
    session.add_argument("--scale", type=positive_int, default=SCALE, help=f"upscale of each crop (default {SCALE})")
    commands.add_parser("collect", help="record a session's answers").add_argument("labeller")
    commands.add_parser("reference", help="render the reference sheet to /tmp/eye_labelling/reference.png")
    commands.add_parser("status", help="looks so far and agreement")
    args = parser.parse_args()
    if args.command == "session":
        print(start_session(args.labeller, crops_for(args.split, args.budget), args.tiles, args.scale))
    elif args.command == "collect":
        print(f"recorded {collect(args.labeller)} looks by {args.labeller}")
    elif args.command == "reference":
        print(render_reference(SESSIONS / "reference.png"))
    else:
        print(status())


if __name__ == "__main__":
    run_main(main)
