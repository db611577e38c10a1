"""The blend and ranking step of ``aggregate``: final = alpha * criterion score +
(1 - alpha) * pairwise score, ranked within each prompt with the written tie rule
(DESIGN 5; formulas in ``scoring.core.scores``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import scores
from .inputs import AggregationInput
from .likert import LikertScores
from .pairwise import PairwiseScores


@dataclass(frozen=True)
class Finals:
    """Per response (aligned with ``response_ids``), plus the criterion that breaks ties."""

    final: np.ndarray  # blended score; NaN: neither a criterion nor a pairwise score
    source: np.ndarray  # scores.BLEND | CRITERIA_ONLY | BORDA_ONLY | NONE
    ranking: scores.Ranking  # rank within prompt (1 best, 0 unranked) and tie counts
    top: int  # the first of the most-weighted criteria (0 without criteria)


def final_scores(inp: AggregationInput, likert: LikertScores, pairwise: PairwiseScores) -> Finals:
    """Blend and rank (``scores.blend``, ``scores.rank_within_prompt``).

    final = alpha * criterion_score + (1 - alpha) * pairwise score; without a pairwise score
    final = criterion_score, without a criterion score final = pairwise score, with neither
    NaN (not ranked). Within each prompt, responses whose finals lie within
    ``tie_tolerance`` of their neighbour form a tie group, ordered by (1) more pairwise
    wins, (2) higher mean on the first of the most-weighted criteria (NaN lowest),
    (3) ascending sha256("seed:response id").
    """
    n_resp = inp.response_ids.size
    n_crit = len(inp.criteria)
    final, source = scores.blend(likert.criterion_score, pairwise.score, inp.blend_alpha)
    top = int(np.argmax(likert.weights)) if n_crit else 0  # the first of the most-weighted
    tiebreak = likert.means[:, top] if n_crit else np.full(n_resp, np.nan)
    ranking = scores.rank_within_prompt(
        inp.response_prompts,
        inp.response_ids,
        final,
        pairwise.wins,
        tiebreak,
        seed=inp.seed,
        tolerance=inp.tie_tolerance,
    )
    return Finals(final=final, source=source, ranking=ranking, top=top)


def tie_rule(inp: AggregationInput, finals: Finals) -> dict:
    """The ranking rule as the run records it: order, tolerance, the tie-breakers in
    order (naming the most-weighted criterion, '-' / None without criteria), the seed, and
    how many tie groups there were and how many positions each tie-breaker decided."""
    criteria, top = inp.criteria, finals.top
    n_crit = len(criteria)
    return {
        "order": "final score, descending, within each prompt",
        "tolerance": inp.tie_tolerance,
        "tie_breakers": [
            "more pairwise wins",
            f"higher mean on the most-weighted criterion ({criteria[top].key if n_crit else '-'})",
            f"ascending sha256('{inp.seed}:<response id>')",
        ],
        "most_weighted_criterion": criteria[top].key if n_crit else None,
        "seed": inp.seed,
        "tie_groups": finals.ranking.tie_groups,
        "decided_by": finals.ranking.decided_by,
    }
