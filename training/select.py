"""Choose which pool images a person should label for training.

Random labels waste the budget on near-duplicates of the common case. Instead, for each budget in
``BUDGETS`` the queue is topped up (so the first k entries are the k-label selection) with
  * cluster centres — the medoids of a k-means of the embedding, one per not-yet-covered cluster, so every
    kind of eye (glasses, dark skin, blur, drawings, squints) is represented; and
  * boundary cases — ``BOUNDARY_SHARE`` of the budget taken among the crops that sit most evenly between the
    two main clusters of the pool (which split roughly open/closed), spread out by their own k-means:
    these are the squints and half-closed lids where the decision is made.
Validation images are never selected. Output: ``labels/train_queue.csv`` (rank, file, reason).

``--extend N`` keeps the committed queue and appends picks up to N: the crops the trained teacher
(``runs/eyenet_seed0.pt``, from ``python -m classifier.train``) is least sure of, spread out by a k-means of
their embedding (one medoid a cluster), so that the new labels go where the model still hesitates instead of
repeating one kind of hard crop. The committed picks 200-399 came from the budget-200 teacher.

The committed queue came from an encoder pretrained as this command does by default: SimCLR on the pixels of the
whole pool (validation crops included, their labels never). Re-running it may rank differently (thread counts
change float sums), and any newly ranked image would then need a hand label; the committed queue is the record.
"""

from __future__ import annotations

import argparse
import csv

import numpy as np
from sklearn.cluster import KMeans

BUDGETS = (10, 20, 50, 100, 200)
BOUNDARY_SHARE = 0.3
BOUNDARY_POOL = 400  # how many most-ambiguous crops the boundary picks are drawn from
UNCERTAIN_POOL = 3  # --extend draws its picks from this many times as many of the least sure crops


def _medoid(embedding: np.ndarray, members: np.ndarray, centre: np.ndarray) -> int:
    return int(members[np.argmax(embedding[members] @ centre)])


def selection_queue(
    embedding: np.ndarray, excluded: set[int], budgets: tuple[int, ...] = BUDGETS, seed: int = 0
) -> list[tuple[int, str]]:
    """Ranked ``[(index, reason), …]`` of length ``budgets[-1]``; ``excluded`` indices are never chosen."""
    candidates = np.array([i for i in range(len(embedding)) if i not in excluded])
    features = embedding[candidates]
    halves = KMeans(2, n_init=10, random_state=seed).fit(features)
    distances = halves.transform(features)
    ambiguity = np.abs(distances[:, 0] - distances[:, 1])
    boundary = np.argsort(ambiguity)[:BOUNDARY_POOL]

    chosen: list[tuple[int, str]] = []
    taken: set[int] = set()
    for budget in budgets:
        n_boundary = round(budget * BOUNDARY_SHARE) - sum(r.startswith("boundary") for _, r in chosen)
        n_centres = budget - len(chosen) - max(n_boundary, 0)
        clusters = KMeans(budget, n_init=3, random_state=seed).fit(features)
        sizes = np.bincount(clusters.labels_, minlength=budget)
        added = 0
        for cluster in np.argsort(-sizes):  # the most common kinds of eye first
            if added >= n_centres:
                break
            members = np.flatnonzero(clusters.labels_ == cluster)
            if taken.intersection(members.tolist()):
                continue  # this kind of eye already has a label
            pick = _medoid(features, members, clusters.cluster_centers_[cluster])
            chosen.append((pick, f"centre of cluster {cluster} of {budget}"))
            taken.add(pick)
            added += 1
        free = np.array([i for i in boundary if i not in taken])
        n_boundary = budget - len(chosen)
        if n_boundary > 0:
            spread = KMeans(n_boundary, n_init=3, random_state=seed).fit(features[free])
            for cluster in range(n_boundary):
                members = free[spread.labels_ == cluster]
                pick = _medoid(features, members, spread.cluster_centers_[cluster])
                chosen.append((pick, f"boundary case for budget {budget}"))
                taken.add(pick)
    return [(int(candidates[i]), reason) for i, reason in chosen]


def uncertain_picks(
    embedding: np.ndarray, p_open: np.ndarray, excluded: set[int], count: int, seed: int = 0
) -> list[tuple[int, str]]:
    """``count`` crops among the ``UNCERTAIN_POOL × count`` with p_open nearest 0.5, one medoid per k-means cluster."""
    candidates = np.array([i for i in np.argsort(np.abs(p_open - 0.5)) if i not in excluded])
    shortlist = candidates[: UNCERTAIN_POOL * count]
    spread = KMeans(count, n_init=3, random_state=seed).fit(embedding[shortlist])
    picks = []
    for cluster in range(count):
        members = shortlist[spread.labels_ == cluster]
        pick = _medoid(embedding, members, spread.cluster_centers_[cluster])
        picks.append((pick, f"uncertain for the trained teacher (p_open {p_open[pick]:.2f})"))
    return picks


def main() -> None:
    import torch

    from classifier.data import load_pool, read_labels
    from classifier.labelling import TRAIN_QUEUE, VAL_SEED, VAL_SIZE, validation_draw
    from classifier.pretrain import embed, pretrain

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--encoder", help="a saved pretrained state_dict to reuse instead of pretraining again")
    parser.add_argument("--extend", type=int, help="keep the committed queue and append uncertain picks up to N")
    args = parser.parse_args()
    names, images = load_pool()
    if args.extend:
        extend_queue(names, images, args.extend)
        return
    if args.encoder:
        from classifier.model import EyeNet

        net = EyeNet()
        net.load_state_dict(torch.load(args.encoder, weights_only=True))
    else:
        net = pretrain(images)
    validation = set(validation_draw(names, VAL_SIZE, VAL_SEED)) | {r.file for r in read_labels() if r.split == "val"}
    excluded = {i for i, name in enumerate(names) if name in validation}
    queue = selection_queue(embed(net, images), excluded)
    with TRAIN_QUEUE.open("w", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["rank", "file", "reason"])
        for rank, (index, reason) in enumerate(queue):
            writer.writerow([rank, names[index], reason])
    print(f"wrote {len(queue)} picks to {TRAIN_QUEUE}")


def extend_queue(names: list[str], images: np.ndarray, size: int) -> None:
    """Append ``uncertain_picks`` of the trained teacher to the committed queue until it holds ``size`` crops."""
    import torch

    from classifier.data import REPO
    from classifier.labelling import TRAIN_QUEUE, VAL_SEED, VAL_SIZE, train_queue, validation_draw
    from classifier.model import EyeNet
    from classifier.pretrain import embed

    queue = train_queue()
    teacher = EyeNet()
    teacher.load_state_dict(torch.load(REPO / "runs" / "eyenet_seed0.pt", weights_only=True)["state_dict"])
    teacher.eval()
    with torch.inference_mode():
        p_open = torch.sigmoid(teacher(torch.from_numpy(images).unsqueeze(1))).numpy()
    taken = set(validation_draw(names, VAL_SIZE, VAL_SEED)) | {name for name, _ in queue}
    excluded = {i for i, name in enumerate(names) if name in taken}
    picks = uncertain_picks(embed(teacher, images), p_open, excluded, size - len(queue))
    with TRAIN_QUEUE.open("a", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        for rank, (index, reason) in enumerate(picks, start=len(queue)):
            writer.writerow([rank, names[index], reason])
    print(f"appended {len(picks)} picks to {TRAIN_QUEUE} ({size} in all)")


if __name__ == "__main__":
    main()
