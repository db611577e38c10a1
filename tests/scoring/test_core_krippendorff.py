"""Krippendorff's alpha against the krippendorff package, textbook values and invariants."""

from __future__ import annotations

import warnings

import krippendorff
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from scoring.core.krippendorff import (
    LEVELS,
    NO_PAIRABLE,
    ONE_CATEGORY,
    alpha,
    alpha_many,
    alpha_matrix,
    value_counts_from_matrix,
)

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders,
# 12 units, missing values. Published: nominal 0.743, ordinal 0.815, interval 0.849.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, np.nan, np.nan, np.nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, np.nan, 3],
    [np.nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, np.nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, np.nan],
]


def package_alpha(data: np.ndarray, level: str) -> float | None:
    """The krippendorff package's value, or None where it refuses or returns NaN."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    except ValueError:
        return None
    return None if np.isnan(value) else value


@pytest.mark.parametrize(
    ("level", "published"), [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849)]
)
def test_it_reproduces_krippendorffs_worked_example(level, published):
    assert round(alpha_matrix(KRIPPENDORFF_2011, level).value, 3) == published


reliability = hnp.arrays(
    dtype=np.float64,
    shape=st.tuples(st.integers(2, 7), st.integers(1, 25)),
    elements=st.sampled_from([np.nan, np.nan, 1.0, 2.0, 3.0, 4.0, 5.0]),
)


@settings(max_examples=150, deadline=None)
@given(data=reliability, level=st.sampled_from(LEVELS))
def test_it_equals_the_krippendorff_package_on_random_matrices_with_missing_values(data, level):
    expected = package_alpha(data, level)
    ours = alpha_matrix(data, level)
    if expected is None:
        assert ours.value is None and ours.reason
    else:
        assert ours.value == pytest.approx(expected, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(data=reliability, level=st.sampled_from(LEVELS), seed=st.integers(0, 2**32 - 1))
def test_shuffling_values_among_coders_inside_a_unit_changes_nothing(data, level, seed):
    rng = np.random.default_rng(seed)
    shuffled = data.copy()
    for u in range(data.shape[1]):
        shuffled[:, u] = rng.permutation(data[:, u])
    a, b = alpha_matrix(data, level), alpha_matrix(shuffled, level)
    assert (a.value is None) == (b.value is None)
    if a.value is not None:
        assert a.value == pytest.approx(b.value, abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    data=hnp.arrays(
        dtype=np.float64,
        shape=st.tuples(st.integers(2, 5), st.integers(2, 20)),
        elements=st.sampled_from([np.nan, -3.0, 0.5, 2.0, 7.25]),
    )
)
def test_non_integer_and_negative_values_match_the_package_at_interval_level(data):
    expected = package_alpha(data, "interval")
    ours = alpha_matrix(data, "interval")
    assert (expected is None) == (ours.value is None)
    if expected is not None:
        assert ours.value == pytest.approx(expected, abs=1e-9)


def test_unused_scale_points_in_the_domain_change_nothing():
    counts, _ = value_counts_from_matrix(KRIPPENDORFF_2011, domain=[0, 1, 2, 3, 4, 5, 6])
    for level in LEVELS:
        assert alpha(counts, [0, 1, 2, 3, 4, 5, 6], level).value == pytest.approx(
            alpha_matrix(KRIPPENDORFF_2011, level).value, abs=1e-12
        )


def test_no_unit_with_two_values_is_undefined_with_a_reason():
    data = [[1, np.nan, 3], [np.nan, 2, np.nan]]
    result = alpha_matrix(data, "ordinal")
    assert result.value is None and result.reason == NO_PAIRABLE and result.n_units == 0


def test_one_category_only_is_undefined_not_one():
    data = [[3, 3, 3, np.nan], [3, 3, 3, 5]]
    result = alpha_matrix(data, "nominal", rng=np.random.default_rng(0))
    assert result.value is None and result.reason == ONE_CATEGORY
    assert result.n_units == 3 and result.n_pairable == 6


def test_an_empty_matrix_is_undefined():
    assert alpha_matrix(np.full((3, 4), np.nan), "interval").reason == NO_PAIRABLE


def test_the_bootstrap_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(7)
    truth = rng.integers(1, 6, size=300)
    data = np.clip(truth + rng.integers(-1, 2, size=(4, 300)), 1, 5).astype(float)
    data[rng.random(data.shape) < 0.2] = np.nan
    a = alpha_matrix(data, "ordinal", rng=np.random.default_rng(1))
    b = alpha_matrix(data, "ordinal", rng=np.random.default_rng(1))
    assert a == b
    assert a.n_resamples == 1000
    assert a.ci_low < a.value < a.ci_high
    assert a.ci_high - a.ci_low < 0.2


def test_the_vectorized_bootstrap_equals_a_loop_over_the_same_resamples():
    rng = np.random.default_rng(3)
    data = rng.integers(1, 4, size=(3, 40)).astype(float)
    data[rng.random(data.shape) < 0.25] = np.nan
    counts, dom = value_counts_from_matrix(data)
    pairable = np.flatnonzero(counts.sum(axis=1) >= 2)
    ours = alpha(counts, dom, "ordinal", rng=np.random.default_rng(11), n_resamples=200)
    # The same draws, one package call per resample.
    draw_rng = np.random.default_rng(11)
    draws = draw_rng.integers(0, pairable.size, size=(200, pairable.size))  # one block
    values = [package_alpha(data[:, pairable[row]], "ordinal") for row in draws]
    values = np.array([np.nan if v is None else v for v in values])
    assert np.nanpercentile(values, 2.5) == pytest.approx(ours.ci_low, abs=1e-9)
    assert np.nanpercentile(values, 97.5) == pytest.approx(ours.ci_high, abs=1e-9)


def test_several_variables_share_resamples_and_keep_their_own_point_estimates():
    rng = np.random.default_rng(5)
    data = [rng.integers(1, 6, size=(5, 200)).astype(float) for _ in range(3)]
    counts = [value_counts_from_matrix(d, domain=[1, 2, 3, 4, 5])[0] for d in data]
    dom = np.arange(1, 6, dtype=float)
    results = alpha_many(
        counts, [dom] * 3, [LEVELS] * 3, rng=np.random.default_rng(0), n_resamples=100
    )
    for d, row in zip(data, results, strict=True):
        for level in LEVELS:
            assert row[level].value == pytest.approx(package_alpha(d, level), abs=1e-9)
            assert row[level].ci_low is not None
