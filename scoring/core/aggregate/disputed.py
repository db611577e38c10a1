"""The disputes step of ``aggregate``: the items the lead's review queue lists (rules in
``scoring.core.disputes``), less the items a lead has already adjudicated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import disputes
from .inputs import OUTCOMES, AggregationInput
from .likert import LikertScores
from .pairwise import PairTallies


@dataclass(frozen=True)
class Disputes:
    likert: np.ndarray  # (N,) responses with a disputed Likert criterion
    pairs: np.ndarray  # (P,) pairs without a majority
    pair_flagged: np.ndarray  # (N,) responses in a disputed pair
    rows: list[dict]  # the queue's rows: Likert disputes first, then pairwise


def find_disputes(inp: AggregationInput, likert: LikertScores, pairs: PairTallies) -> Disputes:
    """Disputed responses and pairs, on the annotators' own ratings and votes.

    Likert: a response whose raw ratings span max - min >= ``dispute_span`` scale points on
    any criterion (a unit with one rating has no span); its row names those criteria and
    spans. Pairwise: a pair with at least two votes and no strict majority (> half) among
    (a, b, tie); its row gives the votes. An adjudicated item is decided: no longer a
    dispute.
    """
    criteria = inp.criteria
    n_resp = inp.response_ids.size
    spans = disputes.likert_spans(likert.positions, likert.values, n_resp)
    # An adjudicated item is decided: no longer a dispute.
    likert_disputed = disputes.likert_disputed(spans, inp.dispute_span) & ~likert.decided
    pair_disputed = disputes.pairwise_no_majority(pairs.tallies) & ~pairs.decided
    rows: list[dict] = []
    for i in np.flatnonzero(likert_disputed):
        rows.append(
            {
                "kind": "likert",
                "response_id": int(inp.response_ids[i]),
                "prompt_id": int(inp.response_prompts[i]),
                "spans": {
                    criteria[c].key: int(spans[i, c])
                    for c in range(len(criteria))
                    if not np.isnan(spans[i, c]) and spans[i, c] >= inp.dispute_span
                },
            }
        )
    for p in np.flatnonzero(pair_disputed):
        rows.append(
            {
                "kind": "pairwise",
                "prompt_id": int(inp.response_prompts[pairs.a[p]]),
                "response_a": int(inp.response_ids[pairs.a[p]]),
                "response_b": int(inp.response_ids[pairs.b[p]]),
                "votes": dict(zip(OUTCOMES, (int(x) for x in pairs.tallies[p]), strict=True)),
            }
        )
    pair_flagged = np.zeros(n_resp, dtype=bool)
    pair_flagged[pairs.a[pair_disputed]] = True
    pair_flagged[pairs.b[pair_disputed]] = True
    return Disputes(
        likert=likert_disputed, pairs=pair_disputed, pair_flagged=pair_flagged, rows=rows
    )
