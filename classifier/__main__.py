"""Command line: judge eye images, one CSV row each on stdout.

    python -m classifier eye.jpg photos/ ...   # path,label,p_open,found

A PATH is an image file or a folder (searched recursively for image files). A crop (at most 100 px a side, like
the training pool) is read whole; a bigger photo is searched for faces and eyes, and answers with the largest
face's two eyes together or the close-up's eye ("found" says which: crop, face, eye_closeup, or no eye found, when
the photo was read whole). label is open or closed, as openEyeCheck says; p_open is the probability of open.

Problems go to stderr, one line each, and the run goes on past them: a file that cannot be read, a missing path
and a folder without images are each named there and get no row. The exit status is 0 when every image was judged,
1 when anything failed or nothing was found, 2 for a wrong command line.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
from pathlib import Path

from tqdm import tqdm

CHUNK = 1024  # images judged per batch: crops are batched through the model


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # cannot even be looked at: taken, so that reading it names the file and says why
        return True


def expand(raw: str, complain) -> list[Path]:
    """A file as given; a folder as the sorted image files inside it; a missing path as nothing, with a word."""
    from classifier.images import IMAGE_SUFFIXES

    path = Path(raw)
    if not raw.strip():
        complain("error: an empty path was given")
        return []
    try:
        is_dir = path.is_dir()
        exists = is_dir or path.exists()
    except OSError as error:  # a folder on the way we may not enter, a name too long…
        complain(f"error: cannot read {path}: {error.strerror or error}")
        return []
    if not exists:
        complain(f"error: no such file or folder: {path}")
        return []
    if not is_dir:
        return [path]

    unlisted: list[str] = []

    def unreadable(error: OSError) -> None:  # os.walk would skip a folder it cannot list without a word
        unlisted.append(str(error.filename))
        complain(f"error: cannot read folder {error.filename}: {error.strerror or error}")

    found = (Path(folder, name) for folder, _, names in os.walk(path, onerror=unreadable) for name in names)
    files = sorted(p for p in found if _is_file(p))
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    if skipped := len(files) - len(images):
        what = "file that is not an image" if skipped == 1 else "files that are not images"
        complain(f"note: {path}: skipped {skipped} {what} (by the name)")
    if not images and str(path) not in unlisted:  # a folder it could not list was named already
        complain(f"error: no images in folder {path}")
    return images


def main(argv: list[str] | None = None) -> int:
    summary, _, details = (__doc__ or "").partition("\n\n")
    parser = argparse.ArgumentParser(
        prog="python -m classifier",
        description=summary,
        epilog=details.replace("    python -m classifier", "example: python -m classifier"),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)

    from classifier.inference import Judgement, judge_each, load_model

    problems = 0

    def complain(line: str) -> None:
        nonlocal problems
        problems += line.startswith("error")
        print(line, file=sys.stderr)

    files = [file for raw in args.paths for file in expand(raw, complain)]
    try:
        model = load_model()
    except (FileNotFoundError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    writer = csv.writer(sys.stdout, lineterminator="\n")
    if files:
        writer.writerow(["path", "label", "p_open", "found"])
    failed = 0
    with tqdm(total=len(files), unit="img", disable=args.quiet or len(files) < 200, file=sys.stderr) as bar:
        for start in range(0, len(files), CHUNK):
            chunk = files[start : start + CHUNK]
            for path, verdict in zip(chunk, judge_each(chunk), strict=True):  # rows keep the input order
                if isinstance(verdict, Judgement):
                    label = "open" if model.is_open(verdict.p_open) else "closed"
                    writer.writerow([str(path), label, f"{verdict.p_open:.4f}", verdict.found])
                else:
                    failed += 1
                    message = str(verdict) or type(verdict).__name__
                    print(f"error: {message if str(path) in message else f'{path}: {message}'}", file=sys.stderr)
            bar.update(len(chunk))
    if failed and len(files) > 1:
        print(f"error: {failed} of {len(files)} images could not be judged", file=sys.stderr)
    return 1 if failed or problems or not files else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, as other command-line tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error while exiting
        sys.exit(1)
