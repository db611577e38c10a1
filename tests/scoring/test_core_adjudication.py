"""scoring.core.adjudication and its place in aggregate: a lead's decision replaces the
item's judgments in the scores, not in the agreement figures (no database)."""

import numpy as np
import pytest

from scoring.core import adjudication
from scoring.core.aggregate import A_WINS, B_WINS, TIE, AggregationInput, CriterionSpec, aggregate


def test_present_positions_finds_only_ids_that_are_there():
    present, at = adjudication.present_positions(np.array([5, 7, 11]), np.array([3, 5, 9, 11]))
    assert present.tolist() == [True, False, True]
    assert at[present].tolist() == [1, 3]
    empty, _ = adjudication.present_positions(np.array([1]), np.zeros(0, dtype=np.int64))
    assert empty.tolist() == [False]


def test_a_decided_pair_gets_quorum_or_its_votes_for_the_outcome_and_others_are_unchanged():
    tallies = np.array([[1, 1, 1], [0, 1, 0], [2, 0, 0]])
    keys = np.array([10, 20, 30])
    out, decided = adjudication.pair_overrides(
        tallies, keys, np.array([10, 20, 99]), np.array([B_WINS, TIE, A_WINS]), 3
    )
    assert out.tolist() == [[0, 3, 0], [0, 0, 3], [2, 0, 0]]
    assert decided.tolist() == [True, True, False]
    assert tallies.tolist() == [[1, 1, 1], [0, 1, 0], [2, 0, 0]]  # not modified in place


def _input(**adjudicated) -> AggregationInput:
    # One prompt, responses 1 and 2; response 1 rated 1, 3, 5 (disputed); the pair split.
    return AggregationInput(
        criteria=[CriterionSpec("quality", 1, 5, "ordinal", 1.0)],
        response_ids=np.array([1, 2]),
        response_prompts=np.array([100, 100]),
        response_domains=np.array([7, 7]),
        domain_names={7: "general"},
        likert_responses=np.array([1, 1, 1, 2, 2, 2]),
        likert_annotators=np.array([1, 2, 3, 1, 2, 3]),
        likert_values=np.array([[1.0], [3.0], [5.0], [4.0], [4.0], [4.0]]),
        pair_a=np.array([1, 1, 1]),
        pair_b=np.array([2, 2, 2]),
        pair_annotators=np.array([1, 2, 3]),
        pair_outcomes=np.array([A_WINS, B_WINS, TIE]),
        likert_quorum=3,
        pairwise_quorum=3,
        n_resamples=0,
        **adjudicated,
    )


def test_aggregate_takes_adjudicated_items_from_the_adjudication():
    before = aggregate(_input())
    assert before.counts["disputes_likert"] == 1 and before.counts["disputes_pairwise"] == 1
    after = aggregate(
        _input(
            adjudicated_responses=np.array([1]),
            adjudicated_values=np.array([[5.0]]),
            adjudicated_pair_a=np.array([1]),
            adjudicated_pair_b=np.array([2]),
            adjudicated_pair_outcomes=np.array([A_WINS]),
        )
    )
    assert after.criterion_score[0] == pytest.approx(1.0)  # 5 on 1..5
    assert before.criterion_score[0] == pytest.approx(0.5)
    assert after.criterion_score[1] == before.criterion_score[1]
    assert after.borda.tolist() == [1.0, 0.0]
    assert after.counts["responses_adjudicated"] == 1
    assert after.counts["pairs_adjudicated"] == 1
    assert after.counts["disputes_likert"] == 0 and after.counts["disputes_pairwise"] == 0
    assert after.disputes == []
    assert "adjudicated" in after.flags[0]
    assert after.agreement == before.agreement
