"""The figures everything is judged by: equal error rate, its interval, accuracy and F1."""

from __future__ import annotations

import numpy as np
import pytest

from training.metrics import (
    accuracy_f1,
    eer,
    eer_difference_interval,
    eer_interval,
    misranked,
    misranked_difference_interval,
)


def test_eer_of_perfect_inverted_and_known_scores():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    assert eer(y, np.array([0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]))[0] == 0.0
    assert eer(y, np.array([0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2, 0.1]))[0] == 1.0
    # one closed eye scored above every open one: 1 of 4 false accepts at the point with 1 of 4 false rejects
    assert eer(y, np.array([0.1, 0.2, 0.3, 0.95, 0.6, 0.7, 0.8, 0.9]))[0] == pytest.approx(0.25)


def test_eer_interval_contains_the_estimate():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 300)
    scores = y + rng.normal(0, 0.6, 300)
    low, high = eer_interval(y, scores, rounds=200)
    assert low <= eer(y, scores)[0] <= high
    assert 0 < low < high < 0.5


def test_paired_interval_is_zero_for_the_same_model_and_below_zero_for_a_clearly_better_one():
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, 400)
    noise = rng.normal(0, 1, 400)
    weak, strong = y + 0.8 * noise, y + 0.3 * noise
    assert eer_difference_interval(y, weak, weak, rounds=100) == (0.0, 0.0)
    low, high = eer_difference_interval(y, strong, weak, rounds=200)
    assert low < high < 0  # the strong model's EER is lower on (nearly) every draw of crops
    # A model that differs from the baseline by a little independent noise: the yardstick cannot tell them apart.
    low, high = eer_difference_interval(y, weak + rng.normal(0, 0.05, 400), weak, rounds=200)
    assert low < 0 < high


def test_misranked_counts_the_pairs_put_the_wrong_way_round_ties_half():
    y = np.array([0, 0, 1, 1])
    assert misranked(y, np.array([0.1, 0.2, 0.3, 0.4])) == 0.0
    assert misranked(y, np.array([0.4, 0.3, 0.2, 0.1])) == 1.0
    assert misranked(y, np.array([0.1, 0.35, 0.3, 0.4])) == pytest.approx(1 / 4)  # 1 of 4 pairs the wrong way
    assert misranked(y, np.array([0.1, 0.3, 0.3, 0.4])) == pytest.approx(1 / 8)  # a tie: half a pair
    assert np.isnan(misranked(np.ones(4), np.array([0.1, 0.2, 0.3, 0.4])))  # one class: no pair to rank
    rng = np.random.default_rng(3)
    y, scores = rng.integers(0, 2, 60), rng.normal(0, 1, 60)
    wrong = sum(a > b for a in scores[y == 0] for b in scores[y == 1]) / ((y == 0).sum() * (y == 1).sum())
    assert misranked(y, scores) == pytest.approx(wrong)  # by definition, pair by pair


def test_misranked_pairs_give_a_tighter_paired_interval_than_the_eer():
    # Two models that share most of their mistakes, as two runs of one recipe do. The EER is read at one point of
    # the curve; the share of misranked pairs averages over all of it, so its interval is the tighter one.
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 480)
    shared = 0.4 * rng.normal(0, 1, 480)
    weak, better = y + shared + 0.25 * rng.normal(0, 1, 480), y + shared + 0.15 * rng.normal(0, 1, 480)
    assert misranked_difference_interval(y, weak, weak, rounds=100) == (0.0, 0.0)
    eer_low, eer_high = eer_difference_interval(y, better, weak, rounds=300)
    low, high = misranked_difference_interval(y, better, weak, rounds=300)
    assert high - low < 0.6 * (eer_high - eer_low)
    low, high = misranked_difference_interval(y, y + shared, weak, rounds=300)  # no noise of its own: far better
    assert low < high < 0


def test_accuracy_and_f1():
    assert accuracy_f1(np.array([1, 1, 0, 0]), np.array([1, 0, 0, 0])) == pytest.approx((0.75, 2 / 3))


def test_calibration_error_is_zero_when_confidence_matches_accuracy_and_large_when_overconfident():
    from training.metrics import calibration

    y = np.array([1] * 8 + [0] * 2)
    honest, bins = calibration(y, np.full(10, 0.8))  # says 80% open, and 80% are
    assert honest == pytest.approx(0.0) and sum(b["count"] for b in bins) == 10
    overconfident, _ = calibration(y, np.full(10, 0.999))
    assert overconfident == pytest.approx(0.199, abs=1e-3)
