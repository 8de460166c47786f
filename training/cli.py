"""What every training command shares at its edge: argument types and errors as one line, not a traceback.

The expected failures (a pool that is missing or is not the one the labels were made on, a damaged label file,
a bad image) are raised as ``FileNotFoundError`` or ``ValueError`` with a message that says what to do;
``run_main`` prints that message alone. Anything else is a bug, and keeps its traceback.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable


def positive_int(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run_main(main: Callable[[], None]) -> None:
    """Run a command's ``main``, its expected failures as one line on stderr and exit status 1."""
    try:
        main()
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None
