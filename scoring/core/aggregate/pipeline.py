"""``aggregate``: one pass from an ``AggregationInput`` to an ``AggregationResult``: Likert
criterion scores (with adjudications), pairwise tallies and Borda (or Bradley-Terry), the
blend and the ranking within each prompt, disputes, exclusions, flags and counts. Agreement
is computed in ``agreement``.
"""

from __future__ import annotations

import numpy as np

from .. import adjudication, bradley_terry, disputes, scores
from .agreement import _agreement
from .inputs import (
    A_WINS,
    B_WINS,
    BORDA,
    BRADLEY_TERRY,
    OUTCOMES,
    PAIRWISE_METHODS,
    TIE,
    AggregationInput,
    AggregationResult,
)


def _positions(ids: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    return np.searchsorted(sorted_ids, np.asarray(ids, dtype=np.int64))


def aggregate(inp: AggregationInput) -> AggregationResult:
    """Scores, agreement, disputes and exclusions for one project. See DESIGN 5 and the
    docstrings of scoring.core.scores, .krippendorff, .kappa, .consensus, .disputes."""
    criteria = inp.criteria
    n_resp = inp.response_ids.size
    n_crit = len(criteria)
    lr = _positions(inp.likert_responses, inp.response_ids)
    values = np.asarray(inp.likert_values, dtype=np.float64).reshape(-1, n_crit)
    normalized = (
        np.column_stack(
            [
                scores.normalize(values[:, c], s.scale_min, s.scale_max)
                for c, s in enumerate(criteria)
            ]
        )
        if n_crit
        else np.zeros((lr.size, 0))
    )

    # --- Likert scores -------------------------------------------------------------------
    means, _ = scores.group_means(lr, normalized, n_resp)
    n_likert = np.bincount(lr, minlength=n_resp)
    quorum_met = n_likert >= inp.likert_quorum
    means[~quorum_met] = np.nan
    # An adjudicated response takes its criterion means from the adjudication.
    present, at = adjudication.present_positions(inp.adjudicated_responses, inp.response_ids)
    likert_decided = np.zeros(n_resp, dtype=bool)
    likert_decided[at[present]] = True
    if n_crit and present.any():
        decided_values = np.asarray(inp.adjudicated_values, dtype=np.float64).reshape(-1, n_crit)
        means[at[present]] = np.column_stack(
            [
                scores.normalize(decided_values[present, c], s.scale_min, s.scale_max)
                for c, s in enumerate(criteria)
            ]
        )
    quorum_met |= likert_decided
    weights = np.array([c.weight for c in criteria])
    crit_score = scores.criterion_score(means, weights) if n_crit else np.full(n_resp, np.nan)
    unrated_criterion = quorum_met & np.isnan(crit_score)

    # --- Pairwise tallies and Borda ----------------------------------------------------
    pa, pb = _positions(inp.pair_a, inp.response_ids), _positions(inp.pair_b, inp.response_ids)
    outcomes = np.asarray(inp.pair_outcomes, dtype=np.int64)
    pair_keys = pa.astype(np.int64) * max(n_resp, 1) + pb
    uniq_pairs, pair_of_vote = np.unique(pair_keys, return_inverse=True)
    n_pairs = uniq_pairs.size
    tallies = np.bincount(pair_of_vote * 3 + outcomes, minlength=n_pairs * 3).reshape(n_pairs, 3)
    pair_a_idx, pair_b_idx = np.divmod(uniq_pairs, max(n_resp, 1))
    # An adjudicated pair's choice overrides its votes in the scores; agreement and disputes
    # keep the annotators' own votes (``tallies``).
    in_a, at_a = adjudication.present_positions(inp.adjudicated_pair_a, inp.response_ids)
    in_b, at_b = adjudication.present_positions(inp.adjudicated_pair_b, inp.response_ids)
    voted, pair_decided = adjudication.pair_overrides(
        tallies,
        uniq_pairs,
        (at_a * max(n_resp, 1) + at_b)[in_a & in_b],
        np.asarray(inp.adjudicated_pair_outcomes, dtype=np.int64)[in_a & in_b],
        inp.pairwise_quorum,
    )
    pair_n = voted.sum(axis=1)
    in_borda = pair_n >= inp.pairwise_quorum
    b = scores.borda(
        pair_a_idx[in_borda],
        pair_b_idx[in_borda],
        voted[in_borda, A_WINS],
        voted[in_borda, B_WINS],
        voted[in_borda, TIE],
        n_resp,
    )
    raw = scores.borda(
        pair_a_idx, pair_b_idx, voted[:, A_WINS], voted[:, B_WINS], voted[:, TIE], n_resp
    )
    n_pairwise, wins = raw.n_judgments, raw.wins

    # --- Bradley-Terry, when the project blends it instead of Borda ---------------------
    pairwise_score, bt_undefined, bt_counts = b.borda, np.zeros(n_resp, dtype=bool), {}
    if inp.pairwise_method == BRADLEY_TERRY:
        fit = bradley_terry.per_prompt(
            inp.response_prompts,
            pair_a_idx[in_borda],
            pair_b_idx[in_borda],
            voted[in_borda, A_WINS],
            voted[in_borda, B_WINS],
            voted[in_borda, TIE],
        )
        pairwise_score = fit.win_probability
        bt_undefined = ~np.isnan(b.borda) & np.isnan(fit.win_probability)
        bt_counts = {
            "prompts_bradley_terry": fit.prompts_fitted,
            "prompts_bradley_terry_undefined": fit.prompts_undefined,
            "bradley_terry_prior": fit.prior,
        }
    elif inp.pairwise_method != BORDA:
        raise ValueError(
            f"unknown pairwise_method {inp.pairwise_method!r}; use one of {PAIRWISE_METHODS}"
        )

    # --- Final scores and ranking --------------------------------------------------------
    final, source = scores.blend(crit_score, pairwise_score, inp.blend_alpha)
    top = int(np.argmax(weights)) if n_crit else 0  # the first of the most-weighted criteria
    tiebreak = means[:, top] if n_crit else np.full(n_resp, np.nan)
    ranking = scores.rank_within_prompt(
        inp.response_prompts,
        inp.response_ids,
        final,
        wins,
        tiebreak,
        seed=inp.seed,
        tolerance=inp.tie_tolerance,
    )

    # --- Disputes --------------------------------------------------------------------------
    spans = disputes.likert_spans(lr, values, n_resp)
    # An adjudicated item is decided: no longer a dispute.
    likert_disputed = disputes.likert_disputed(spans, inp.dispute_span) & ~likert_decided
    pair_disputed = disputes.pairwise_no_majority(tallies) & ~pair_decided
    dispute_rows: list[dict] = []
    for i in np.flatnonzero(likert_disputed):
        dispute_rows.append(
            {
                "kind": "likert",
                "response_id": int(inp.response_ids[i]),
                "prompt_id": int(inp.response_prompts[i]),
                "spans": {
                    criteria[c].key: int(spans[i, c])
                    for c in range(n_crit)
                    if not np.isnan(spans[i, c]) and spans[i, c] >= inp.dispute_span
                },
            }
        )
    for p in np.flatnonzero(pair_disputed):
        dispute_rows.append(
            {
                "kind": "pairwise",
                "prompt_id": int(inp.response_prompts[pair_a_idx[p]]),
                "response_a": int(inp.response_ids[pair_a_idx[p]]),
                "response_b": int(inp.response_ids[pair_b_idx[p]]),
                "votes": dict(zip(OUTCOMES, (int(x) for x in tallies[p]), strict=True)),
            }
        )
    pair_flagged = np.zeros(n_resp, dtype=bool)
    pair_flagged[pair_a_idx[pair_disputed]] = True
    pair_flagged[pair_b_idx[pair_disputed]] = True

    # --- Agreement -----------------------------------------------------------------------
    agreement = _agreement(inp, lr, values, normalized, pair_of_vote, tallies, outcomes)

    # --- Exclusions, counts, flags -------------------------------------------------------
    has_judgment = (n_likert > 0) | (n_pairwise > 0)
    below = (n_likert > 0) & ~quorum_met
    exclusions = [
        _exclusion(
            "below_likert_quorum",
            "responses",
            below,
            inp.response_ids,
            f"fewer than likert_quorum={inp.likert_quorum} Likert judgments: no criterion score",
        ),
        _exclusion(
            "criterion_not_rated",
            "responses",
            unrated_criterion,
            inp.response_ids,
            "quorum met, but a weighted criterion has no rating: no criterion score",
        ),
        {
            "reason": "below_pairwise_quorum",
            "what": "pairs",
            "count": int((~in_borda).sum()),
            "detail": f"fewer than pairwise_quorum={inp.pairwise_quorum} judgments: not in Borda",
        },
        _exclusion(
            "no_final_score",
            "responses",
            has_judgment & np.isnan(final),
            inp.response_ids,
            "judged, but neither a criterion score nor a Borda score: not ranked",
        ),
    ]
    if inp.pairwise_method == BRADLEY_TERRY:
        exclusions.insert(
            -1,
            _exclusion(
                "bradley_terry_undefined",
                "responses",
                bt_undefined,
                inp.response_ids,
                "pairs in Borda, but its prompt's pairs do not connect all of the prompt's "
                "compared responses: no Bradley-Terry score (pairwise_method=bradley_terry)",
            ),
        )
    flags: list[list[str]] = []
    for i in range(n_resp):
        f = []
        if below[i]:
            f.append("below_likert_quorum")
        if unrated_criterion[i]:
            f.append("criterion_not_rated")
        if likert_disputed[i]:
            f.append("disputed_likert")
        if pair_flagged[i]:
            f.append("disputed_pairwise")
        if likert_decided[i]:
            f.append("adjudicated")
        flags.append(f)
    counts = {
        "responses": int(n_resp),
        "responses_judged": int(has_judgment.sum()),
        "responses_scored": int((~np.isnan(final)).sum()),
        "responses_likert_quorum": int(quorum_met.sum()),
        "responses_blend": int((source == scores.BLEND).sum()),
        "responses_criteria_only": int((source == scores.CRITERIA_ONLY).sum()),
        "responses_borda_only": int((source == scores.BORDA_ONLY).sum()),
        "prompts_ranked": int(np.unique(inp.response_prompts[~np.isnan(final)]).size),
        "likert_judgments": int(lr.size),
        "pairwise_judgments": int(pa.size),
        "pairs": int(n_pairs),
        "pairs_in_borda": int(in_borda.sum()),
        "annotators": int(
            np.unique(np.concatenate([inp.likert_annotators, inp.pair_annotators])).size
        ),
        "pairs_majority": dict(
            zip(
                (*OUTCOMES, "none"),
                (
                    int(x)
                    for x in np.bincount(disputes.majority(tallies) + 1, minlength=4)[[1, 2, 3, 0]]
                ),
                strict=True,
            )
        )
        if n_pairs
        else {},
        "disputes_likert": int(likert_disputed.sum()),
        "disputes_pairwise": int(pair_disputed.sum()),
        "responses_adjudicated": int(likert_decided.sum()),
        "pairs_adjudicated": int(pair_decided.sum()),
        **bt_counts,
    }
    tie_rule = {
        "order": "final score, descending, within each prompt",
        "tolerance": inp.tie_tolerance,
        "tie_breakers": [
            "more pairwise wins",
            f"higher mean on the most-weighted criterion ({criteria[top].key if n_crit else '-'})",
            f"ascending sha256('{inp.seed}:<response id>')",
        ],
        "most_weighted_criterion": criteria[top].key if n_crit else None,
        "seed": inp.seed,
        "tie_groups": ranking.tie_groups,
        "decided_by": ranking.decided_by,
    }
    return AggregationResult(
        counts=counts,
        exclusions=exclusions,
        agreement=agreement,
        disputes=dispute_rows,
        tie_rule=tie_rule,
        has_judgment=has_judgment,
        criterion_means=means,
        criterion_score=crit_score,
        borda=b.borda,
        final=final,
        final_source=source,
        n_likert=n_likert,
        n_pairwise=n_pairwise,
        pairwise_wins=wins,
        rank=ranking.rank,
        flags=flags,
    )


def _exclusion(reason: str, what: str, mask: np.ndarray, ids: np.ndarray, detail: str) -> dict:
    hit = ids[mask]
    return {
        "reason": reason,
        "what": what,
        "count": int(hit.size),
        "detail": detail,
        "sample_ids": [int(x) for x in hit[:20]],
    }
