"""Where the unlabelled pool lives and how hand labels are stored.

The pool is read from ``../shared/data/EyesDataset`` beside the repository, or from ``$EYES_DATASET``.
Labels live in ``labels/labels.csv`` (committed): ``file,label,split,how`` where label is open|closed|unusable,
split is val|train, and ``how`` says how the image was chosen (``random`` for validation, the selection
algorithm's reason for training). Every look a person took at a crop is kept in ``labels/looks.csv``
(``file,split,looks``, oldest first); the label is their majority (``decide``).
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
LOOKS_CSV = REPO / "labels" / "looks.csv"  # every blind look at every labelled crop, oldest first
LABEL_FIELDS = ("file", "label", "split", "how")
LABEL_VALUES = ("open", "closed", "unusable")


def pool_dir() -> Path:
    """The folder of unlabelled 24x24 crops: ``$EYES_DATASET`` or ``../shared/data/EyesDataset``."""
    return Path(os.environ.get("EYES_DATASET", REPO.parent / "shared" / "data" / "EyesDataset"))


def pool_files(folder: Path | None = None) -> list[str]:
    """Sorted file names of the pool (``000000.jpg`` …)."""
    folder = folder or pool_dir()
    if not folder.is_dir():
        raise FileNotFoundError(f"eye pool not found at {folder}; set EYES_DATASET to the folder of 24x24 crops")
    return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))


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


def read_labels(path: Path | None = None) -> list[Label]:
    """Labels from the CSV (missing file → no labels)."""
    path = path or LABELS_CSV
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        rows = [Label(**{k: row[k] for k in LABEL_FIELDS}) for row in csv.DictReader(handle)]
    for row in rows:
        if row.label not in LABEL_VALUES:
            raise ValueError(f"{path}: {row.file} has label {row.label!r}, expected one of {LABEL_VALUES}")
    return rows


def write_labels(rows: list[Label], path: Path | None = None) -> None:
    """Write labels sorted by split then file, one per file name (the last decision wins)."""
    path = path or LABELS_CSV
    latest = {row.file: row for row in rows}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(LABEL_FIELDS)
        for row in sorted(latest.values(), key=lambda r: (r.split, r.file)):
            writer.writerow([row.file, row.label, row.split, row.how])


def validation_set(names: list[str], images: np.ndarray) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The usable validation crops of a loaded pool: their file names, (N, 24, 24) images and labels (1 = open)."""
    val = labelled("val")
    index = {name: i for i, name in enumerate(names)}
    return list(val), images[[index[name] for name in val]], np.array(list(val.values()))


def labelled(split: str, path: Path | None = None) -> dict[str, int]:
    """``{file: 1 if open else 0}`` for one split, unusable images left out."""
    return {r.file: int(r.label == "open") for r in read_labels(path) if r.split == split and r.label != "unusable"}


def decide(looks: list[str]) -> str:
    """The label of a crop from its looks: the strict majority, else ``unusable`` (looks that split evenly, or
    three different answers, are not a label anyone can stand behind)."""
    if not looks:
        raise ValueError("a crop needs at least one look")
    top = max(set(looks), key=looks.count)
    return top if 2 * looks.count(top) > len(looks) else "unusable"


def read_looks(path: Path | None = None) -> dict[str, list[str]]:
    """``{file: [look, …]}``, oldest look first (missing file → no looks)."""
    path = path or LOOKS_CSV
    if not path.exists():
        return {}
    with path.open(newline="") as handle:
        looks = {row["file"]: row["looks"].split() for row in csv.DictReader(handle)}
    if bad := {label for labels in looks.values() for label in labels} - set(LABEL_VALUES):
        raise ValueError(f"{path}: looks {sorted(bad)} are not among {LABEL_VALUES}")
    return looks


def write_looks(looks: dict[str, list[str]], splits: dict[str, str], path: Path | None = None) -> None:
    """Write every crop's looks, sorted by split then file like ``labels.csv``."""
    path = path or LOOKS_CSV
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["file", "split", "looks"])
        for name in sorted(looks, key=lambda n: (splits[n], n)):
            writer.writerow([name, splits[name], " ".join(looks[name])])
