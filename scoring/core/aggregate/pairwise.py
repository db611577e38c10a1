"""The pairwise step of ``aggregate``: votes tallied per distinct pair, adjudicated pairs
overridden, and the pairwise score of the blend: Borda, or the Bradley-Terry probability of
beating the prompt's other responses (the project's ``pairwise_method``; DESIGN 5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import adjudication, bradley_terry, scores
from .inputs import (
    A_WINS,
    B_WINS,
    BORDA,
    BRADLEY_TERRY,
    PAIRWISE_METHODS,
    TIE,
    AggregationInput,
    response_positions,
)


@dataclass(frozen=True)
class PairTallies:
    """Per pairwise vote (m rows) and per distinct pair (P rows, sorted by key)."""

    n_votes: int  # m, the pairwise judgments read
    outcomes: np.ndarray  # (m,) A_WINS | B_WINS | TIE
    pair_of_vote: np.ndarray  # (m,) the pair of each vote, 0..P-1
    a: np.ndarray  # (P,) response position of each pair's response a
    b: np.ndarray  # (P,) and of its response b
    tallies: np.ndarray  # (P, 3) the annotators' own votes (a, b, tie)
    voted: np.ndarray  # (P, 3) the votes the scores use: adjudicated pairs overridden
    decided: np.ndarray  # (P,) adjudicated
    in_borda: np.ndarray  # (P,) at pairwise quorum (after the override)


@dataclass(frozen=True)
class PairwiseScores:
    """Per response (aligned with ``response_ids``), plus the Bradley-Terry counts."""

    borda: np.ndarray  # Borda over the pairs at quorum; NaN: never compared
    score: np.ndarray  # the pairwise score of the blend (Borda or Bradley-Terry)
    n_pairwise: np.ndarray  # votes in every pair, at quorum or not
    wins: np.ndarray  # wins in every pair, at quorum or not (the first tie-breaker)
    bt_undefined: np.ndarray  # in Borda, but no Bradley-Terry score (all False for Borda)
    bt_counts: dict  # prompts fitted / undefined and the prior; empty for Borda


def pair_tallies(inp: AggregationInput) -> PairTallies:
    """Votes counted per distinct pair (a, b) in canonical orientation, key a * N + b over
    response positions (N = number of responses, at least 1), pairs sorted by key.

    An adjudicated pair's choice overrides its votes in the scores: its row of ``voted``
    becomes max(votes, pairwise_quorum) votes for the adjudicated outcome
    (``adjudication.pair_overrides``), so it is in Borda and Bradley-Terry even below
    quorum. Agreement and disputes keep the annotators' own votes (``tallies``).
    Adjudications of pairs the run does not hold are ignored. A pair is in Borda when
    sum(voted) >= pairwise_quorum.
    """
    n_resp = inp.response_ids.size
    pa = response_positions(inp.pair_a, inp.response_ids)
    pb = response_positions(inp.pair_b, inp.response_ids)
    outcomes = np.asarray(inp.pair_outcomes, dtype=np.int64)
    pair_keys = pa.astype(np.int64) * max(n_resp, 1) + pb
    uniq_pairs, pair_of_vote = np.unique(pair_keys, return_inverse=True)
    n_pairs = uniq_pairs.size
    tallies = np.bincount(pair_of_vote * 3 + outcomes, minlength=n_pairs * 3).reshape(n_pairs, 3)
    pair_a_idx, pair_b_idx = np.divmod(uniq_pairs, max(n_resp, 1))
    in_a, at_a = adjudication.present_positions(inp.adjudicated_pair_a, inp.response_ids)
    in_b, at_b = adjudication.present_positions(inp.adjudicated_pair_b, inp.response_ids)
    voted, decided = adjudication.pair_overrides(
        tallies,
        uniq_pairs,
        (at_a * max(n_resp, 1) + at_b)[in_a & in_b],
        np.asarray(inp.adjudicated_pair_outcomes, dtype=np.int64)[in_a & in_b],
        inp.pairwise_quorum,
    )
    return PairTallies(
        n_votes=int(pa.size),
        outcomes=outcomes,
        pair_of_vote=pair_of_vote,
        a=pair_a_idx,
        b=pair_b_idx,
        tallies=tallies,
        voted=voted,
        decided=decided,
        in_borda=voted.sum(axis=1) >= inp.pairwise_quorum,
    )


def pairwise_scores(inp: AggregationInput, pairs: PairTallies) -> PairwiseScores:
    """Borda over the pairs at quorum, and the pairwise score of the blend.

    Borda (``scores.borda``): p_ab = (wins_a + 0.5 ties) / n_ab and p_ba = 1 - p_ab per
    pair; borda(i) = mean over the rivals j compared with i of p_ij; NaN for a response
    never compared. The vote and win counts come from every pair, at quorum or not.
    With ``pairwise_method`` = Bradley-Terry the blend takes ``bradley_terry_scores``
    instead of Borda. Any other method raises ``ValueError``.
    """
    n_resp = inp.response_ids.size
    q, voted = pairs.in_borda, pairs.voted
    b = scores.borda(
        pairs.a[q], pairs.b[q], voted[q, A_WINS], voted[q, B_WINS], voted[q, TIE], n_resp
    )
    raw = scores.borda(pairs.a, pairs.b, voted[:, A_WINS], voted[:, B_WINS], voted[:, TIE], n_resp)
    score, bt_undefined, bt_counts = b.borda, np.zeros(n_resp, dtype=bool), {}
    if inp.pairwise_method == BRADLEY_TERRY:
        score, bt_counts = bradley_terry_scores(inp, pairs)
        bt_undefined = ~np.isnan(b.borda) & np.isnan(score)
    elif inp.pairwise_method != BORDA:
        raise ValueError(
            f"unknown pairwise_method {inp.pairwise_method!r}; use one of {PAIRWISE_METHODS}"
        )
    return PairwiseScores(
        borda=b.borda,
        score=score,
        n_pairwise=raw.n_judgments,
        wins=raw.wins,
        bt_undefined=bt_undefined,
        bt_counts=bt_counts,
    )


def bradley_terry_scores(inp: AggregationInput, pairs: PairTallies) -> tuple[np.ndarray, dict]:
    """(win probability per response, counts) from a Bradley-Terry fit within each prompt
    over the pairs in Borda (``bradley_terry.per_prompt``): P(i beats j) =
    sigmoid(theta_i - theta_j), ties half a win each way, fitted by Hunter's (2004) MM
    algorithm with the package's prior; the score is P(i beats j) averaged over the prompt's
    other compared responses j, on Borda's scale. NaN for every response of a prompt whose
    pairs do not connect its compared responses (or, prior 0, have no finite MLE)."""
    q, voted = pairs.in_borda, pairs.voted
    fit = bradley_terry.per_prompt(
        inp.response_prompts,
        pairs.a[q],
        pairs.b[q],
        voted[q, A_WINS],
        voted[q, B_WINS],
        voted[q, TIE],
    )
    return fit.win_probability, {
        "prompts_bradley_terry": fit.prompts_fitted,
        "prompts_bradley_terry_undefined": fit.prompts_undefined,
        "bradley_terry_prior": fit.prior,
    }
