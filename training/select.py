"""Choose which pool crops a person should label for training: typical crops first, then boundary cases.

At a small budget a label teaches most where it stands for many crops: the densest point of a cluster of the
self-supervised embedding. For each budget in ``BUDGETS`` the typical picks are topped up so that their first k
are the k-label selection: the medoids of a k-means of the embedding into k clusters, largest cluster first, one
per cluster that has no pick yet. Once every common kind of eye has a label, the labels that still teach sit where
the two halves of the pool meet: the queue's crops ``BOUNDARY_AT`` to ``BOUNDARY_AT + BOUNDARY_COUNT`` are
boundary cases (``boundary_picks``), and the typical crops go on after them. Measured with the shipped recipe:
200 typical crops gave 8.53% validation EER (1.58% on unanimous crops), 100 typical and 100 boundary 7.49%
(1.58%); reports/README.md has the ablation. Validation and reference crops are never selected.

    python -m training.select        # embedding of the pretrained encoder (runs/, as training.train caches it)

The committed queue was made in two steps: the 400 typical crops first, then the 100 boundary cases inserted at
rank 100 from the same encoder's embedding (``main`` does both at once).

Output: ``labels/train_queue.csv`` (rank, file, reason). The committed queue is the record of what was labelled:
re-running may rank differently (float sums change with thread counts), and a newly ranked crop needs labels.
"""

from __future__ import annotations

import argparse
import csv

import numpy as np
from sklearn.cluster import KMeans

BUDGETS = (10, 20, 50, 100, 200, 400)
BOUNDARY_AT = 100  # the queue's crops 100-199 are boundary cases; the typical crops go on after them
BOUNDARY_COUNT = 100
BOUNDARY_POOL = 400  # the boundary picks come from this many crops nearest the split between the two halves


def _medoid(embedding: np.ndarray, members: np.ndarray, centre: np.ndarray) -> int:
    """The member nearest the cluster's centre: for unit vectors, the one most like the others on average."""
    return int(members[np.argmax(embedding[members] @ centre)])


def selection_queue(
    embedding: np.ndarray, excluded: set[int], budgets: tuple[int, ...] = BUDGETS, seed: int = 0
) -> list[tuple[int, str]]:
    """Ranked ``[(index, reason), …]`` of length ``budgets[-1]``; ``excluded`` indices are never chosen."""
    candidates = np.array([i for i in range(len(embedding)) if i not in excluded])
    features = embedding[candidates]
    chosen: list[tuple[int, str]] = []
    taken: set[int] = set()
    for budget in budgets:
        clusters = KMeans(budget, n_init=3, random_state=seed).fit(features)
        sizes = np.bincount(clusters.labels_, minlength=budget)
        for cluster in np.argsort(-sizes, kind="stable"):  # the most common kinds of eye first
            if len(chosen) >= budget:
                break
            members = np.flatnonzero(clusters.labels_ == cluster)
            if taken.intersection(members.tolist()):
                continue  # this kind of eye already has a pick
            pick = _medoid(features, members, clusters.cluster_centers_[cluster])
            chosen.append((pick, f"typical crop of cluster {cluster} of {budget} ({sizes[cluster]} crops)"))
            taken.add(pick)
        # Clusters that already hold a pick leave the budget short: fill it with the largest clusters' runners-up.
        for cluster in np.argsort(-sizes, kind="stable"):
            if len(chosen) >= budget:
                break
            members = np.array([m for m in np.flatnonzero(clusters.labels_ == cluster) if m not in taken])
            if len(members):
                pick = _medoid(features, members, clusters.cluster_centers_[cluster])
                chosen.append((pick, f"second crop of cluster {cluster} of {budget} ({sizes[cluster]} crops)"))
                taken.add(pick)
    return [(int(candidates[i]), reason) for i, reason in chosen]


def boundary_picks(embedding: np.ndarray, excluded: set[int], count: int, seed: int = 0) -> list[tuple[int, str]]:
    """``count`` crops from the ``BOUNDARY_POOL`` that sit most evenly between the two halves of a 2-means of the
    embedding (the pool splits roughly open / closed), one medoid per cluster of a k-means of them, so that they
    cover the different ways an eye can be hard to call."""
    candidates = np.array([i for i in range(len(embedding)) if i not in excluded])
    features = embedding[candidates]
    distances = KMeans(2, n_init=10, random_state=seed).fit(features).transform(features)
    boundary = np.argsort(np.abs(distances[:, 0] - distances[:, 1]))[:BOUNDARY_POOL]
    spread = KMeans(count, n_init=3, random_state=seed).fit(features[boundary])
    picks = []
    for cluster in range(count):
        members = boundary[spread.labels_ == cluster]
        pick = _medoid(features, members, spread.cluster_centers_[cluster])
        picks.append((int(candidates[pick]), f"boundary case {cluster} of {count}"))
    return picks


def main() -> None:
    from training.data import load_pool
    from training.labelling import TRAIN_QUEUE, reference_crops, validation_draw
    from training.pretrain import embed
    from training.train import Recipe, pretrained_encoder, training_rows

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.parse_args()
    names, images = load_pool()
    encoder, _ = pretrained_encoder(images[training_rows(names)], Recipe().simclr, seed=0)
    never = set(validation_draw(names)) | {f for f, _, _ in reference_crops()}
    excluded = {i for i, name in enumerate(names) if name in never}
    embedding = embed(encoder, images)
    typical = selection_queue(embedding, excluded)
    boundary = boundary_picks(embedding, excluded | {i for i, _ in typical}, BOUNDARY_COUNT)
    queue = typical[:BOUNDARY_AT] + boundary + typical[BOUNDARY_AT:]
    with TRAIN_QUEUE.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["rank", "file", "reason"])
        for rank, (index, reason) in enumerate(queue):
            writer.writerow([rank, names[index], reason])
    print(f"wrote {len(queue)} picks to {TRAIN_QUEUE}")


if __name__ == "__main__":
    from training.cli import run_main

    run_main(main)
