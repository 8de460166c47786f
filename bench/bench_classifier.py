"""Speed benchmark of the classifier: prints parameters, weight size, warm latency, batch throughput, cold start.

    python -m bench.bench_classifier

Targets: openEyeCheck warm latency ≤ 0.5 ms per 24x24 file (decode included) and batch ≥ 5,000 images/s in memory
(issue 14, for today's 72k-parameter network; issue 11 had asked ≤ 0.2 ms and ≥ 18,000 images/s of the 23k one
then shipped); cold start (new process → first answer) ≤ 0.5 s. Files per second are printed too, as
open_probabilities reads them. Run it on an otherwise idle machine: the figures are wall-clock times. Latency and
throughput are the best of seven timed passes (as ``timeit`` advises): on this shared 2-core VM a single pass of
about a second came out anywhere between 5,000 and 9,000 images/s from one run to the next, and noise only ever
slows a pass down. Cold start is the median of three new processes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REPEATS = 7


def wall_times(run: Callable[[], object], repeats: int) -> list[float]:
    """The wall time of each of ``repeats`` calls of ``run``."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def _fresh_process_seconds(code: str, repeats: int = 3) -> float:
    """Median wall time of a new Python process running ``code``."""
    command = [sys.executable, "-c", code]
    return statistics.median(
        wall_times(lambda: subprocess.run(command, cwd=REPO, check=True, capture_output=True), repeats)
    )


def best_seconds(run: Callable[[], object], repeats: int = REPEATS) -> float:
    """The shortest wall time of ``repeats`` calls of ``run``."""
    return min(wall_times(run, repeats))


def measure(weights: Path | None = None) -> dict[str, float]:
    """Figures of the shipped weights, or of other weights (``weights``: same code path as ``openEyeCheck``)."""
    import numpy as np

    from classifier import load_model, openEyeCheck
    from classifier.images import load_eye
    from classifier.model import WEIGHTS
    from training.data import load_pool, pool_dir, pool_files

    model = load_model(weights)
    threshold = model.threshold
    check = (
        openEyeCheck if weights is None else lambda path: int(model.probabilities(load_eye(path)[None])[0] >= threshold)
    )
    files = [pool_dir() / name for name in pool_files()[:500]]
    for path in files[:50]:  # warm-up: weights loaded, caches hot
        check(path)
    latency_ms = best_seconds(lambda: [check(path) for path in files]) / len(files) * 1000

    _, images = load_pool()
    model.probabilities(images[:512])
    images_per_s = len(images) / best_seconds(lambda: model.probabilities(images))

    pool = [pool_dir() / name for name in pool_files()]  # as open_probabilities: files read and decoded too
    files_per_s = len(pool) / best_seconds(lambda: model.probabilities(np.stack([load_eye(path) for path in pool])))

    figures = {
        "parameters": model.parameters,
        "weights_kib": (weights or WEIGHTS).stat().st_size / 1024,
        "latency_ms": latency_ms,
        "images_per_s": images_per_s,
        "files_per_s": files_per_s,
    }
    if weights is None:
        first = str(files[0])
        figures["cold_start_s"] = _fresh_process_seconds(
            f"from classifier import openEyeCheck; openEyeCheck({first!r})"
        )
        figures["python_s"] = _fresh_process_seconds("pass")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--weights", type=Path, help="other weights to time (default: the shipped ones)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON (for the report)")
    args = parser.parse_args()
    figures = measure(args.weights)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"parameters            {figures['parameters']:,}")
    print(f"weights               {figures['weights_kib']:.0f} KiB")
    print(f"openEyeCheck latency  {figures['latency_ms']:.3f} ms per 24x24 file (warm, decode included; target ≤ 0.5)")
    print(f"batch throughput      {figures['images_per_s']:,.0f} images/s in memory (target ≥ 5,000)")
    print(f"                      {figures['files_per_s']:,.0f} files/s from disk (open_probabilities)")
    print(
        f"cold start            {figures['cold_start_s']:.2f} s from a new process to the first answer "
        f"(target ≤ 0.5; Python itself starts in {figures['python_s']:.2f} s)"
    )


if __name__ == "__main__":
    main()
