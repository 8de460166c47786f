"""Where the unlabelled pool lives and how hand labels are stored.

The pool is read from ``../shared/data/EyesDataset`` beside the repository, or from ``$EYES_DATASET``.

Every look anyone took at a crop is a row of ``labels/looks.csv`` (``file,split,round,labeller,look``): ``round``
is the labelling convention it followed (``v1``: the first, retired convention; ``v2``: ``labels/CONVENTION.md``)
and ``labeller`` who looked. ``labels/labels.csv`` (``file,label,split,how``) is derived from it: each crop with
looks of the current round, labelled with their strict majority (``decide``); ``how`` says how the crop was chosen
(``random`` for validation, the selection algorithm's reason for training). Labels are open, closed, unsure (an
eye nobody could call) or unusable (not an eye); only open and closed are trained on or measured against.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.images import load_eye

REPO = Path(__file__).resolve().parent.parent
LABELS_CSV = REPO / "labels" / "labels.csv"
LOOKS_CSV = REPO / "labels" / "looks.csv"
LABEL_FIELDS = ("file", "label", "split", "how")
LOOK_FIELDS = ("file", "split", "round", "labeller", "look")
LABEL_VALUES = ("open", "closed", "unsure", "unusable")
ROUND = "v2"  # the convention of labels/CONVENTION.md; earlier rounds stay in looks.csv and count for nothing


def pool_dir() -> Path:
    """The folder of unlabelled 24x24 crops: ``$EYES_DATASET`` or ``../shared/data/EyesDataset``."""
    return Path(os.environ.get("EYES_DATASET", REPO.parent / "shared" / "data" / "EyesDataset"))


def pool_files(folder: Path | None = None) -> list[str]:
    """Sorted file names of the pool (``000000.jpg`` …)."""
    folder = folder or pool_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"eye pool not found at {folder}; set EYES_DATASET to the folder of 24x24 crops")
    names = sorted(p.name for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not names:
        raise FileNotFoundError(f"no .jpg or .png crops in {folder}; set EYES_DATASET to the folder of 24x24 crops")
    return names


def load_pool(folder: Path | None = None) -> tuple[list[str], np.ndarray]:
    """All pool images as an (N, 24, 24) float32 array, with their file names."""
    folder = folder or pool_dir()
    names = pool_files(folder)
    return names, np.stack([load_eye(folder / name) for name in names])


@dataclass(frozen=True)
class Label:
    file: str
    label: str
    split: str
    how: str


@dataclass(frozen=True)
class Look:
    file: str
    split: str
    round: str
    labeller: str
    look: str


def _read_rows(path: Path, fields: tuple[str, ...]) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        if missing := [field for field in fields if field not in (reader.fieldnames or [])]:
            raise ValueError(f"{path}: no {', '.join(missing)} column (its header must be {','.join(fields)})")
        rows = [{k: row[k] for k in fields} for row in reader]
    for row in rows:
        value = row.get("label", row.get("look"))
        if value not in LABEL_VALUES:
            raise ValueError(f"{path}: {row['file']} has {value!r}, expected one of {LABEL_VALUES}")
    return rows


def _write_rows(path: Path, fields: tuple[str, ...], rows: list[tuple]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(fields)
        writer.writerows(rows)


def read_labels(path: Path | None = None) -> list[Label]:
    """Labels from the CSV (missing file → no labels)."""
    return [Label(**row) for row in _read_rows(path or LABELS_CSV, LABEL_FIELDS)]


def write_labels(rows: list[Label], path: Path | None = None) -> None:
    """Write labels sorted by split then file, one per file name (the last decision wins)."""
    latest = {row.file: row for row in rows}
    ordered = sorted(latest.values(), key=lambda r: (r.split, r.file))
    _write_rows(path or LABELS_CSV, LABEL_FIELDS, [(r.file, r.label, r.split, r.how) for r in ordered])


def read_looks(path: Path | None = None) -> list[Look]:
    """Every look, in the order they were taken (missing file → none)."""
    return [Look(**row) for row in _read_rows(path or LOOKS_CSV, LOOK_FIELDS)]


def write_looks(looks: list[Look], path: Path | None = None) -> None:
    _write_rows(path or LOOKS_CSV, LOOK_FIELDS, [(k.file, k.split, k.round, k.labeller, k.look) for k in looks])


def looks_by_file(looks: list[Look], round: str = ROUND) -> dict[str, list[str]]:
    """``{file: [look, …]}`` of one round, in the order taken."""
    grouped: dict[str, list[str]] = {}
    for look in looks:
        if look.round == round:
            grouped.setdefault(look.file, []).append(look.look)
    return grouped


def decide(looks: list[str]) -> str:
    """The label of a crop from its looks. ``unsure`` is an abstention: the label is what the other looks say,
    when at least two of them say it and it has at least two thirds of them; otherwise the crop is ``unsure``
    (one look is not a label, and a split is not one anyone can stand behind)."""
    if not looks:
        raise ValueError("a crop needs at least one look")
    deciding = [look for look in looks if look != "unsure"]
    if not deciding:
        return "unsure"
    top = max(LABEL_VALUES, key=deciding.count)
    votes = deciding.count(top)
    return top if votes >= 2 and 3 * votes >= 2 * len(deciding) else "unsure"


def open_share(looks: list[str]) -> float:
    """The share of a crop's open-or-closed looks that said open: its soft label (unsure and unusable looks abstain)."""
    deciding = [look for look in looks if look in ("open", "closed")]
    if not deciding:
        raise ValueError("no look called this crop open or closed")
    return deciding.count("open") / len(deciding)


def unanimous(looks: list[str]) -> bool:
    """Every look gave the same open or closed answer: the crops nobody hesitated on."""
    return len(set(looks)) == 1 and looks[0] in ("open", "closed")


def derive_labels(looks: list[Look], how: dict[str, str]) -> list[Label]:
    """``labels.csv``'s rows: every crop with current-round looks, labelled by their majority."""
    split = {look.file: look.split for look in looks}
    return [Label(f, decide(v), split[f], how[f]) for f, v in looks_by_file(looks).items()]


def validation_set(names: list[str], images: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The usable validation crops of a loaded pool: their file names, (N, 24, 24) images and labels (1 = open)."""
    val = labelled("val")
    index = {name: i for i, name in enumerate(names)}
    return list(val), images[[index[name] for name in val]], np.array(list(val.values()))


def labelled(split: str, path: Path | None = None) -> dict[str, int]:
    """``{file: 1 if open else 0}`` for one split; unsure and unusable crops left out."""
    rows = read_labels(path)
    return {r.file: int(r.label == "open") for r in rows if r.split == split and r.label in ("open", "closed")}
