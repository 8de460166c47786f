"""Equal error rate and friends, in plain numpy so the tests and the report agree on one definition."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def roc_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """False-positive rate, true-positive rate and thresholds, scanning every distinct score (open = positive)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    sorted_scores, sorted_labels = scores[order], labels[order]
    distinct = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(scores) - 1]
    tp = np.cumsum(sorted_labels)[distinct]
    fp = np.cumsum(~sorted_labels)[distinct]
    tpr = np.r_[0.0, tp / max(labels.sum(), 1)]
    fpr = np.r_[0.0, fp / max((~labels).sum(), 1)]
    thresholds = np.r_[np.inf, sorted_scores[distinct]]
    return fpr, tpr, thresholds


def eer(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """Equal error rate and the score threshold where false accepts and false rejects cross."""
    fpr, tpr, thresholds = roc_points(labels, scores)
    fnr = 1.0 - tpr
    i = int(np.argmin(np.abs(fnr - fpr)))
    # Between two ROC points the rates cross; their mean is the usual estimate of the crossing.
    return float((fpr[i] + fnr[i]) / 2), float(thresholds[i])


def misranked(labels: np.ndarray, scores: np.ndarray) -> float:
    """The share of (open, closed) pairs of crops that ``scores`` put the wrong way round, ties counting half:
    1 - AUC. Where the EER reads the ROC curve at one point, this averages over all of it, so a few crops near one
    threshold move it far less: a finer yardstick for comparing two models on the same crops."""
    if len(np.unique(np.asarray(labels).astype(bool))) < 2:
        return float("nan")  # no pair to rank
    fpr, tpr, _ = roc_points(labels, scores)
    return float(np.clip(1.0 - np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2), 0.0, 1.0))


def bootstrap_interval(
    labels: np.ndarray, statistic: Callable[[np.ndarray], float], rounds: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% bootstrap interval of ``statistic(rows)``, rows drawn with replacement (draws with one class skipped)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    values = []
    for _ in range(rounds):
        pick = rng.integers(0, len(labels), len(labels))
        if labels[pick].min() != labels[pick].max():
            values.append(statistic(pick))
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def eer_interval(labels: np.ndarray, scores: np.ndarray, rounds: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap confidence interval of the EER."""
    labels, scores = np.asarray(labels), np.asarray(scores)
    return bootstrap_interval(labels, lambda pick: eer(labels[pick], scores[pick])[0], rounds, seed)


def difference_interval(
    labels: np.ndarray,
    scores: np.ndarray,
    baseline: np.ndarray,
    measure: Callable[[np.ndarray, np.ndarray], float],
    rounds: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """95% paired bootstrap interval of measure(labels, scores) - measure(labels, baseline) on the same crops: each
    draw of crops judges both models. Far tighter than two separate intervals, since a hard crop drawn is hard for
    both; an interval that straddles 0 means this yardstick cannot tell the two apart."""
    labels, scores, baseline = np.asarray(labels), np.asarray(scores), np.asarray(baseline)

    def difference(pick: np.ndarray) -> float:
        return measure(labels[pick], scores[pick]) - measure(labels[pick], baseline[pick])

    return bootstrap_interval(labels, difference, rounds, seed)


def eer_difference_interval(
    labels: np.ndarray, scores: np.ndarray, baseline: np.ndarray, rounds: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """``difference_interval`` of the EER."""
    return difference_interval(labels, scores, baseline, lambda y, s: eer(y, s)[0], rounds, seed)


def misranked_difference_interval(
    labels: np.ndarray, scores: np.ndarray, baseline: np.ndarray, rounds: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """``difference_interval`` of the share of misranked pairs."""
    return difference_interval(labels, scores, baseline, misranked, rounds, seed)


def accuracy_f1(labels: np.ndarray, predictions: np.ndarray) -> tuple[float, float]:
    """Accuracy and F1 of the open class."""
    labels, predictions = np.asarray(labels).astype(bool), np.asarray(predictions).astype(bool)
    tp = np.sum(labels & predictions)
    precision = tp / max(predictions.sum(), 1)
    recall = tp / max(labels.sum(), 1)
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return float(np.mean(labels == predictions)), float(f1)


def fleiss_kappa(ratings: list[list[str]], categories: list[str]) -> float:
    """Fleiss' kappa of items each rated by the same number of raters: 1 = full agreement, 0 = chance."""
    counts = np.array([[item.count(c) for c in categories] for item in ratings], dtype=np.float64)
    raters = counts.sum(axis=1)
    if len(counts) == 0 or raters.min() != raters.max() or raters[0] < 2:
        raise ValueError("every item needs the same number (at least two) of ratings")
    n = raters[0]
    agreement = ((counts * (counts - 1)).sum(axis=1) / (n * (n - 1))).mean()
    shares = counts.sum(axis=0) / counts.sum()
    chance = float((shares**2).sum())
    return float((agreement - chance) / (1 - chance)) if chance < 1 else 1.0


def calibration(labels: np.ndarray, p_open: np.ndarray, bins: int = 10) -> tuple[float, list[dict]]:
    """Expected calibration error of the stated answer's confidence, and the reliability diagram's bins of P(open).

    ECE: the answers grouped by confidence (max(p, 1-p)) into ``bins`` equal-width bins; the mean gap between each
    bin's confidence and its accuracy, weighted by the bin's share of answers."""
    labels, p_open = np.asarray(labels).astype(bool), np.asarray(p_open, dtype=np.float64)
    confidence, right = np.maximum(p_open, 1 - p_open), (p_open >= 0.5) == labels
    which = np.minimum(((confidence - 0.5) * 2 * bins).astype(int), bins - 1)
    ece = sum(
        abs(confidence[which == b].mean() - right[which == b].mean()) * np.mean(which == b)
        for b in range(bins)
        if np.any(which == b)
    )
    edges = np.minimum((p_open * bins).astype(int), bins - 1)
    diagram = [
        {
            "bin": b,
            "count": int(np.sum(edges == b)),
            "mean_p": float(p_open[edges == b].mean()) if np.any(edges == b) else float("nan"),
            "share_open": float(labels[edges == b].mean()) if np.any(edges == b) else float("nan"),
        }
        for b in range(bins)
    ]
    return float(ece), diagram
