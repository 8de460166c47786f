"""The committed labels: derived from the committed looks, independent, blind to the split, never crossing it."""

from __future__ import annotations

from collections import Counter

import pytest

from training.data import LABEL_VALUES, ROUND, derive_labels, labelled, pool_dir, read_labels, read_looks
from training.labelling import reference_crops, train_queue, validation_draw

LOOKS = read_looks()
LABELS = read_labels()


def test_labels_are_exactly_what_the_looks_decide():
    how = {row.file: row.how for row in LABELS}
    derived = {(r.file, r.label, r.split) for r in derive_labels(LOOKS, how)}
    assert derived == {(r.file, r.label, r.split) for r in LABELS}
    assert all(r.label in LABEL_VALUES for r in LABELS)


def test_every_label_rests_on_at_least_three_looks_by_different_labellers():
    current = [look for look in LOOKS if look.round == ROUND]
    per_crop = Counter(look.file for look in current)
    assert all(per_crop[row.file] >= 3 for row in LABELS)
    pairs = Counter((look.file, look.labeller) for look in current)
    assert max(pairs.values()) == 1, "a labeller looked twice at one crop: the looks would not be independent"


def test_looks_are_real_and_independent_not_copies():
    current = [look for look in LOOKS if look.round == ROUND]
    by_labeller: dict[str, dict[str, str]] = {}
    for look in current:
        by_labeller.setdefault(look.labeller, {})[look.file] = look.look
    a, b = by_labeller["A"], by_labeller["B"]
    shared = [f for f in a if f in b]
    agree = sum(a[f] == b[f] for f in shared)
    assert 0.6 * len(shared) < agree < len(shared)  # mostly the same calls, yet not one copied from the other


def test_splits_are_disjoint_and_validation_is_the_seeded_draw():
    val = {r.file for r in LABELS if r.split == "val"}
    train = {r.file for r in LABELS if r.split == "train"}
    assert not val & train
    assert all(r.how == "random" for r in LABELS if r.split == "val")
    assert len(labelled("val")) >= 400
    assert {r.file for r in LABELS if r.split == "train"} <= {name for name, _ in train_queue()}


@pytest.mark.skipif(not pool_dir().is_dir(), reason="eye pool not present")
def test_training_and_reference_crops_never_come_from_the_validation_draw():
    from training.data import pool_files

    draw = set(validation_draw(pool_files()))
    assert {r.file for r in LABELS if r.split == "val"} == draw
    assert not draw & {name for name, _ in train_queue()}
    assert not draw & {name for name, _, _ in reference_crops()}
