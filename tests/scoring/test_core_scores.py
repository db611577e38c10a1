"""Scores, Borda, blend, ranking and its tie rules, disputes, leave-one-out consensus."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from scoring.core.consensus import choice_consensus, likert_consensus
from scoring.core.disputes import likert_disputed, likert_spans, majority, pairwise_no_majority
from scoring.core.scores import (
    BLEND,
    BORDA_ONLY,
    CRITERIA_ONLY,
    blend,
    borda,
    criterion_score,
    group_means,
    normalize,
    rank_within_prompt,
    tie_hash,
)


def test_scoring_core_imports_no_django():
    code = (
        "import scoring.core, scoring.core.krippendorff, scoring.core.kappa, scoring.core.scores, "
        "scoring.core.disputes, scoring.core.consensus, scoring.core.bootstrap, "
        "scoring.core.metaeval, sys; "
        "assert not any(m == 'django' or m.startswith('django.') for m in sys.modules), 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_normalization_maps_the_scale_onto_zero_one():
    assert normalize(np.array([1, 3, 5]), 1, 5).tolist() == [0.0, 0.5, 1.0]
    assert normalize(np.array([0, 7]), 0, 10).tolist() == [0.0, 0.7]
    with pytest.raises(ValueError):
        normalize(np.array([1]), 5, 5)


def test_criterion_score_is_the_weighted_sum_of_normalized_means():
    means, counts = group_means(
        np.array([0, 0, 1]), np.array([[1.0, 0.5], [0.0, 0.5], [1.0, np.nan]]), 2
    )
    assert means[0].tolist() == [0.5, 0.5] and counts[0].tolist() == [2, 2]
    assert np.isnan(means[1, 1])
    scores = criterion_score(means, np.array([0.75, 0.25]))
    assert scores[0] == pytest.approx(0.5)
    assert np.isnan(scores[1])  # an unrated criterion is not a 0


def test_borda_is_the_mean_win_probability_over_compared_rivals():
    # A beat B twice, A tied C once, B and C never met. D was never compared.
    result = borda(a=[0, 0], b=[1, 2], wins_a=[2, 0], wins_b=[0, 0], ties=[0, 1], n_responses=4)
    assert result.borda[:3].tolist() == [pytest.approx(0.75), 0.0, 0.5]
    assert np.isnan(result.borda[3])
    assert result.wins.tolist() == [2, 0, 0, 0]
    assert result.n_judgments.tolist() == [3, 2, 1, 0]


def test_the_design_worked_example_gives_finals_0898_0608_0450():
    # A beat B and C, B beat C: borda 1.0, 0.5, 0.0 (DESIGN 5).
    b = borda(
        a=[0, 0, 1], b=[1, 2, 2], wins_a=[3, 3, 3], wins_b=[0, 0, 0], ties=[0, 0, 0], n_responses=3
    )
    assert b.borda.tolist() == [1.0, 0.5, 0.0]
    final, source = blend(np.array([0.83, 0.68, 0.75]), b.borda, 0.6)
    assert np.round(final, 3).tolist() == [0.898, 0.608, 0.450]
    assert source.tolist() == [BLEND] * 3
    ranking = rank_within_prompt(
        [7, 7, 7], [1, 2, 3], final, b.wins, [0.8, 0.7, 0.9], seed=0, tolerance=1e-6
    )
    assert ranking.rank.tolist() == [1, 2, 3]


def test_blend_says_where_the_final_came_from():
    final, source = blend(
        np.array([0.4, np.nan, 0.2, np.nan]), np.array([np.nan, 0.5, 1.0, np.nan]), 0.6
    )
    assert final[:3].tolist() == [0.4, 0.5, pytest.approx(0.52)] and np.isnan(final[3])
    assert source.tolist() == [CRITERIA_ONLY, BORDA_ONLY, BLEND, ""]


def test_tie_rule_one_more_pairwise_wins_ranks_first():
    r = rank_within_prompt(
        [1, 1], [10, 11], [0.5, 0.5 + 1e-9], [1, 3], [0.9, 0.1], seed=0, tolerance=1e-6
    )
    assert r.rank.tolist() == [2, 1]
    assert r.decided_by == {"pairwise_wins": 1, "criterion_mean": 0, "hash": 0}


def test_tie_rule_two_higher_mean_on_the_most_weighted_criterion():
    r = rank_within_prompt([1, 1], [10, 11], [0.5, 0.5], [2, 2], [0.3, 0.8], seed=0, tolerance=1e-6)
    assert r.rank.tolist() == [2, 1]
    assert r.decided_by["criterion_mean"] == 1


def test_tie_rule_three_a_seeded_hash_of_the_response_id():
    ids = [10, 11]
    expected_first = min(ids, key=lambda i: tie_hash(42, i))
    r = rank_within_prompt([1, 1], ids, [0.5, 0.5], [2, 2], [0.3, 0.3], seed=42, tolerance=1e-6)
    assert r.rank[ids.index(expected_first)] == 1
    assert r.decided_by["hash"] == 1 and r.tie_groups == 1
    # The hash depends on the seed, and not on the order of the input.
    again = rank_within_prompt(
        [1, 1], ids[::-1], [0.5, 0.5], [2, 2], [0.3, 0.3], seed=42, tolerance=1e-6
    )
    assert again.rank.tolist() == r.rank.tolist()[::-1]
    assert tie_hash(42, 10) != tie_hash(43, 10)


def test_outside_the_tolerance_the_final_score_alone_decides():
    r = rank_within_prompt(
        [1, 1, 2], [1, 2, 3], [0.5, 0.6, np.nan], [9, 0, 0], [1.0, 0.0, 0], seed=0, tolerance=1e-6
    )
    assert r.rank.tolist() == [2, 1, 0]
    assert r.tie_groups == 0


def test_likert_disputes_need_a_span_of_three_points():
    units = np.array([0, 0, 0, 1, 1, 2])
    values = np.array([[1, 3], [4, 3], [2, 3], [2, 5], [3, 3], [1, 5]], dtype=float)
    spans = likert_spans(units, values, 4)
    assert spans[0].tolist() == [3, 0] and spans[1].tolist() == [1, 2]
    assert np.isnan(spans[2]).all() and np.isnan(spans[3]).all()
    assert likert_disputed(spans).tolist() == [True, False, False, False]


def test_pairwise_disputes_are_pairs_without_a_strict_majority():
    counts = np.array([[2, 1, 0], [1, 1, 1], [1, 1, 0], [1, 0, 0], [0, 0, 2]])
    assert majority(counts).tolist() == [0, -1, -1, 0, 2]
    assert pairwise_no_majority(counts).tolist() == [False, True, True, False, False]


def test_leave_one_out_consensus_rewards_the_annotator_who_tracks_the_others():
    rng = np.random.default_rng(0)
    truth = rng.random(50)
    units, coders, values = [], [], []
    for u in range(50):
        for c in range(4):
            noise = 0.02 if c < 3 else 0.0
            v = truth[u] + rng.normal(0, noise) if c < 3 else rng.random()  # coder 3 guesses
            units.append(u)
            coders.append(c)
            values.append(v)
    result = likert_consensus(np.array(units), np.array(coders), np.array(values), 4)
    assert result.n[:, 0].tolist() == [50] * 4
    assert (result.r[:3, 0] > 0.8).all() and abs(result.r[3, 0]) < 0.5


def test_choice_consensus_is_agreement_with_the_others_majority():
    # Unit 0: coders 0, 1 say a, coder 2 says b. Unit 1: all say tie.
    result = choice_consensus(
        np.array([0, 0, 0, 1, 1, 1]),
        np.array([0, 1, 2, 0, 1, 2]),
        np.array([0, 0, 1, 2, 2, 2]),
        3,
        3,
    )
    # Coder 0 on unit 0: others are a, b: no majority, skipped.
    assert result.n.tolist() == [1, 1, 2]
    assert result.agreement.tolist() == [1.0, 1.0, 0.5]
