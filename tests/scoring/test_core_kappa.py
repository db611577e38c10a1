"""Cohen's and Fleiss' kappa against textbook examples."""

from __future__ import annotations

import numpy as np
import pytest

from scoring.core.kappa import cohen_kappa, cohen_kappa_pairs, fleiss_kappa

# Fleiss (1971) as tabulated on Wikipedia ("Fleiss' kappa", worked example): 10 subjects,
# 14 raters, 5 categories; kappa = 0.210.
FLEISS_EXAMPLE = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_kappa_reproduces_the_textbook_example():
    result = fleiss_kappa(FLEISS_EXAMPLE, rng=np.random.default_rng(0))
    assert round(result.value, 3) == 0.210
    assert result.ci_low < result.value < result.ci_high
    assert result.n_units == 10 and result.n_pairable == 140


def test_fleiss_kappa_with_one_category_is_undefined():
    assert fleiss_kappa([[3, 0], [2, 0]]).value is None
    assert fleiss_kappa([[1, 0], [0, 1]]).reason.startswith("fewer than two pairable values")


def test_cohen_kappa_reproduces_the_textbook_example():
    # 50 units: yes/yes 20, yes/no 5, no/yes 10, no/no 15 -> p_o 0.7, p_e 0.5, kappa 0.4.
    x = np.array([0] * 25 + [1] * 25)
    y = np.array([0] * 20 + [1] * 5 + [0] * 10 + [1] * 15)
    assert cohen_kappa(x, y, 2).value == pytest.approx(0.4)


def test_weighted_cohen_kappa_counts_near_misses_as_partial_agreement():
    x = np.array([0, 1, 2, 3, 4, 0, 1, 2, 3, 4])
    y = np.array([1, 1, 2, 4, 4, 0, 2, 2, 3, 3])
    plain = cohen_kappa(x, y, 5).value
    quadratic = cohen_kappa(x, y, 5, weighting="quadratic").value
    assert quadratic > plain


def test_cohen_kappa_with_no_shared_units_or_one_category_is_undefined():
    assert cohen_kappa(np.array([]), np.array([]), 3).reason == "no shared units"
    assert cohen_kappa(np.zeros(5), np.zeros(5), 3).value is None


def test_kappa_for_all_coder_pairs_equals_pairwise_calls_and_skips_small_overlaps():
    rng = np.random.default_rng(0)
    n_units, n_coders = 120, 6
    rows = []
    for u in range(n_units):
        for c in rng.choice(n_coders, size=3, replace=False):
            rows.append((u, c, rng.integers(0, 3)))
    units, coders, values = (np.array(col) for col in zip(*rows, strict=True))
    pairs = cohen_kappa_pairs(units, coders, values.astype(float), 3, min_shared=20)
    assert pairs
    for p in pairs:
        assert p.n_shared >= 20 and p.coder_a < p.coder_b
        ua = dict(zip(units[coders == p.coder_a], values[coders == p.coder_a], strict=True))
        ub = dict(zip(units[coders == p.coder_b], values[coders == p.coder_b], strict=True))
        shared = sorted(set(ua) & set(ub))
        assert len(shared) == p.n_shared
        expected = cohen_kappa(
            np.array([ua[u] for u in shared]), np.array([ub[u] for u in shared]), 3
        )
        assert p.kappa.value == pytest.approx(expected.value, abs=1e-12)
    assert cohen_kappa_pairs(units, coders, values.astype(float), 3, min_shared=10_000) == []
