"""Splits, standardisation and mini-batches."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.nn.data import EpochShuffler, Standardizer, batch_bounds, stratified_split


def test_split_is_a_partition_of_the_rows() -> None:
    y = np.repeat(np.arange(3), [50, 30, 20])

    split = stratified_split(y, 0.2, 0.1, np.random.default_rng(0))

    all_rows = np.concatenate([split.train, split.dev, split.test])
    np.testing.assert_array_equal(np.sort(all_rows), np.arange(100))


def test_split_keeps_class_proportions_in_dev_and_test() -> None:
    y = np.repeat(np.arange(3), [50, 30, 20])

    split = stratified_split(y, 0.2, 0.1, np.random.default_rng(0))

    assert np.bincount(y[split.dev]).tolist() == [10, 6, 4]
    assert np.bincount(y[split.test]).tolist() == [5, 3, 2]


def test_split_is_reproducible_from_the_generator_seed() -> None:
    y = np.random.default_rng(9).integers(0, 4, size=200)

    first = stratified_split(y, 0.25, 0.25, np.random.default_rng(3))
    second = stratified_split(y, 0.25, 0.25, np.random.default_rng(3))
    other = stratified_split(y, 0.25, 0.25, np.random.default_rng(4))

    np.testing.assert_array_equal(first.dev, second.dev)
    assert not np.array_equal(first.dev, other.dev)


def test_split_of_a_tiny_dataset_still_has_a_dev_example() -> None:
    split = stratified_split(np.array([0, 0, 1, 1]), 0.1, 0.0, np.random.default_rng(0))

    assert split.dev.size == 1
    assert split.train.size == 3


def test_standardizer_reuses_the_training_mean_and_scale_for_other_sets() -> None:
    train = np.array([[0.0, 10.0], [2.0, 10.0], [4.0, 10.0]])
    dev = np.array([[2.0, 12.0]])

    standardizer = Standardizer.fit(train)

    np.testing.assert_allclose(standardizer.transform(train, np.float64).mean(axis=0), [0.0, 0.0])
    # Feature 2 is constant in training: its scale stays 1, so dev keeps the raw offset.
    np.testing.assert_allclose(standardizer.transform(dev, np.float64), [[0.0, 2.0]])


def test_standardizer_output_has_the_requested_dtype_and_is_contiguous() -> None:
    X = np.asfortranarray(np.random.default_rng(0).standard_normal((5, 3)))

    out = Standardizer.fit(X).transform(X, np.float32)

    assert out.dtype == np.float32
    assert out.flags.c_contiguous


@settings(max_examples=50, deadline=None)
@given(m=st.integers(1, 500), batch_size=st.integers(1, 600))
def test_batches_cover_every_row_once_and_none_has_a_single_example_unless_batch_size_is_one(
    m: int, batch_size: int
) -> None:
    bounds = batch_bounds(m, batch_size)

    rows = np.concatenate([np.arange(start, stop) for start, stop in bounds])
    np.testing.assert_array_equal(rows, np.arange(m))
    if batch_size > 1 and m > 1:
        assert all(stop - start >= 2 for start, stop in bounds)
    assert all(stop - start <= batch_size + 1 for start, stop in bounds)


def test_batch_size_at_least_m_gives_batch_gradient_descent() -> None:
    assert batch_bounds(100, 100) == [(0, 100)]
    assert batch_bounds(100, 1000) == [(0, 100)]


def test_batch_size_one_gives_stochastic_gradient_descent() -> None:
    assert batch_bounds(3, 1) == [(0, 1), (1, 2), (2, 3)]


def test_shuffler_reorders_inputs_and_targets_together() -> None:
    X = np.arange(12.0).reshape(6, 2)
    T = np.eye(6)
    permutation = np.array([5, 3, 1, 0, 2, 4])

    X_shuffled, T_shuffled = EpochShuffler(X, T).shuffle(permutation)

    np.testing.assert_array_equal(X_shuffled, X[permutation])
    np.testing.assert_array_equal(T_shuffled, T[permutation])
