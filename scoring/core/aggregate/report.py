"""What ``aggregate`` reports beside the scores: the exclusions (what was left out of a
score and why), each response's flags, and the run's counts.
"""

from __future__ import annotations

import numpy as np

from .. import disputes, scores
from .disputed import Disputes
from .inputs import BRADLEY_TERRY, OUTCOMES, AggregationInput
from .likert import LikertScores
from .pairwise import PairTallies, PairwiseScores


def exclusions(
    inp: AggregationInput,
    likert: LikertScores,
    pairs: PairTallies,
    pairwise: PairwiseScores,
    final: np.ndarray,
    has_judgment: np.ndarray,
) -> list[dict]:
    """One entry per reason something judged has no score, in this order: responses below
    Likert quorum (no criterion score); at quorum but with an unrated weighted criterion;
    pairs below pairwise quorum (a count, not in Borda); with Bradley-Terry, responses in
    Borda whose prompt's pairs do not connect (no Bradley-Terry score); and responses judged
    but with no final score (not ranked). Response entries carry up to 20 sample ids."""
    ids = inp.response_ids
    found = [
        _exclusion(
            "below_likert_quorum",
            "responses",
            likert.below_quorum,
            ids,
            f"fewer than likert_quorum={inp.likert_quorum} Likert judgments: no criterion score",
        ),
        _exclusion(
            "criterion_not_rated",
            "responses",
            likert.unrated_criterion,
            ids,
            "quorum met, but a weighted criterion has no rating: no criterion score",
        ),
        {
            "reason": "below_pairwise_quorum",
            "what": "pairs",
            "count": int((~pairs.in_borda).sum()),
            "detail": f"fewer than pairwise_quorum={inp.pairwise_quorum} judgments: not in Borda",
        },
        _exclusion(
            "no_final_score",
            "responses",
            has_judgment & np.isnan(final),
            ids,
            "judged, but neither a criterion score nor a Borda score: not ranked",
        ),
    ]
    if inp.pairwise_method == BRADLEY_TERRY:
        found.insert(
            -1,
            _exclusion(
                "bradley_terry_undefined",
                "responses",
                pairwise.bt_undefined,
                ids,
                "pairs in Borda, but its prompt's pairs do not connect all of the prompt's "
                "compared responses: no Bradley-Terry score (pairwise_method=bradley_terry)",
            ),
        )
    return found


def _exclusion(reason: str, what: str, mask: np.ndarray, ids: np.ndarray, detail: str) -> dict:
    hit = ids[mask]
    return {
        "reason": reason,
        "what": what,
        "count": int(hit.size),
        "detail": detail,
        "sample_ids": [int(x) for x in hit[:20]],
    }


def response_flags(inp: AggregationInput, likert: LikertScores, found: Disputes) -> list[list[str]]:
    """Per response, in this order, whichever apply: below_likert_quorum,
    criterion_not_rated, disputed_likert, disputed_pairwise, adjudicated."""
    flags: list[list[str]] = []
    for i in range(inp.response_ids.size):
        f = []
        if likert.below_quorum[i]:
            f.append("below_likert_quorum")
        if likert.unrated_criterion[i]:
            f.append("criterion_not_rated")
        if found.likert[i]:
            f.append("disputed_likert")
        if found.pair_flagged[i]:
            f.append("disputed_pairwise")
        if likert.decided[i]:
            f.append("adjudicated")
        flags.append(f)
    return flags


def run_counts(
    inp: AggregationInput,
    likert: LikertScores,
    pairs: PairTallies,
    pairwise: PairwiseScores,
    final: np.ndarray,
    source: np.ndarray,
    has_judgment: np.ndarray,
    found: Disputes,
) -> dict:
    """The run's counts: responses (judged, scored, at quorum, by blend source), prompts
    ranked, judgments, pairs (in Borda; by strict-majority outcome, "none" where no
    outcome has > half the votes, {} without pairs), distinct annotators, disputes,
    adjudicated items, and with Bradley-Terry the prompts fitted / undefined and the prior.
    """
    n_pairs = pairs.tallies.shape[0]
    return {
        "responses": int(inp.response_ids.size),
        "responses_judged": int(has_judgment.sum()),
        "responses_scored": int((~np.isnan(final)).sum()),
        "responses_likert_quorum": int(likert.quorum_met.sum()),
        "responses_blend": int((source == scores.BLEND).sum()),
        "responses_criteria_only": int((source == scores.CRITERIA_ONLY).sum()),
        "responses_borda_only": int((source == scores.BORDA_ONLY).sum()),
        "prompts_ranked": int(np.unique(inp.response_prompts[~np.isnan(final)]).size),
        "likert_judgments": int(likert.positions.size),
        "pairwise_judgments": pairs.n_votes,
        "pairs": int(n_pairs),
        "pairs_in_borda": int(pairs.in_borda.sum()),
        "annotators": int(
            np.unique(np.concatenate([inp.likert_annotators, inp.pair_annotators])).size
        ),
        "pairs_majority": dict(
            zip(
                (*OUTCOMES, "none"),
                (
                    int(x)
                    for x in np.bincount(disputes.majority(pairs.tallies) + 1, minlength=4)[
                        [1, 2, 3, 0]
                    ]
                ),
                strict=True,
            )
        )
        if n_pairs
        else {},
        "disputes_likert": int(found.likert.sum()),
        "disputes_pairwise": int(found.pairs.sum()),
        "responses_adjudicated": int(likert.decided.sum()),
        "pairs_adjudicated": int(pairs.decided.sum()),
        **pairwise.bt_counts,
    }
