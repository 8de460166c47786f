"""The labelled photos' kind and verdict through every entry point: ``analyze_photo``, ``openEyeCheck`` and the CLI.

    python -m bench.bench_labelled_photos

Reads ``$EYE_PHOTOS`` (default ../shared/data/photos, ``labels.csv``: file,label,kind). Prints each photo that is
not recognised as its kind or not answered right, then the counts: kinds recognised (faces, close-ups), verdicts
right through each entry point, and the photos left unanswered (``analyze_photo`` found no face or eye).
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

from classifier import analyze_photo, load_model, openEyeCheck

REPO = Path(__file__).resolve().parent.parent
PHOTOS = Path(os.environ.get("EYE_PHOTOS", REPO.parent / "shared" / "data" / "photos"))


def main() -> None:
    with open(PHOTOS / "labels.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    cli = subprocess.run([sys.executable, "-m", "classifier", str(PHOTOS)], capture_output=True, text=True, cwd=REPO)
    cli_label = {Path(line.split(",")[0]).name: line.split(",")[1] for line in cli.stdout.splitlines()[1:]}
    model = load_model()
    kinds = {"face": [0, 0], "eye_closeup": [0, 0]}
    right = {"analyze_photo": 0, "openEyeCheck": 0, "CLI": 0}
    unanswered = 0
    for row in rows:
        result = analyze_photo(PHOTOS / row["file"])
        kinds[row["kind"]][0] += result.kind == row["kind"]
        kinds[row["kind"]][1] += 1
        said = None if result.p_open is None else ("open" if model.is_open(result.p_open) else "closed")
        unanswered += said is None
        check = "open" if openEyeCheck(PHOTOS / row["file"]) else "closed"
        answers = {"analyze_photo": said, "openEyeCheck": check, "CLI": cli_label.get(row["file"])}
        for entry, answer in answers.items():
            right[entry] += answer == row["label"]
        if result.kind != row["kind"] or any(answer != row["label"] for answer in answers.values()):
            p = "-" if result.p_open is None else f"{result.p_open:.2f}"
            print(f"  {row['file']:22s} {row['kind']:12s} {row['label']:6s} found {result.kind:12s} p_open {p}")
    for kind, (found, total) in kinds.items():
        print(f"{kind:12s} recognised {found}/{total}")
    for entry, count in right.items():
        print(f"{entry:14s} right on {count}/{len(rows)}")
    print(f"unanswered (no face or eye found) {unanswered}/{len(rows)}")


if __name__ == "__main__":
    main()
