"""Command line: ``python -m classifier PATH [PATH ...]`` → CSV ``path,label,p_open`` on stdout.

PATH may be image files or folders (searched recursively for images). Unreadable files get a row with
``label`` = ``error`` and the reason on stderr; the exit status is 1 if any file failed.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from tqdm import tqdm

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
CHUNK = 1024


def expand(paths: list[str]) -> list[Path]:
    """Files as given, folders as the sorted images inside them."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()))
        else:
            found.append(path)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classifier", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="+", help="image files or folders")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    import numpy as np

    from classifier.images import load_eye
    from classifier.inference import load_model

    files = expand(args.paths)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["path", "label", "p_open"])
    failed = 0
    model = load_model()
    with tqdm(total=len(files), unit="img", disable=args.quiet or len(files) < 200, file=sys.stderr) as bar:
        for start in range(0, len(files), CHUNK):
            chunk = files[start : start + CHUNK]
            arrays: dict[int, np.ndarray] = {}
            for i, path in enumerate(chunk):
                try:
                    arrays[i] = load_eye(path)
                except (OSError, ValueError) as error:
                    failed += 1
                    print(f"error: {error}", file=sys.stderr)
            probabilities = model.probabilities(np.stack(list(arrays.values()))) if arrays else []
            p_open = dict(zip(arrays, probabilities, strict=True))
            for i, path in enumerate(chunk):  # rows keep the input order, failures in place
                if i in p_open:
                    writer.writerow([str(path), "open" if p_open[i] >= 0.5 else "closed", f"{p_open[i]:.4f}"])
                else:
                    writer.writerow([str(path), "error", ""])
            bar.update(min(CHUNK, len(files) - start))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
