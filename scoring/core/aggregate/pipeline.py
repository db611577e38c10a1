"""``aggregate``: one pass from an ``AggregationInput`` to an ``AggregationResult``, step by
step: Likert criterion scores with adjudications (``likert``), pairwise tallies and Borda or
Bradley-Terry (``pairwise``), the blend and the ranking within each prompt (``ranking``),
disputes (``disputed``), agreement (``agreement``), then exclusions, flags and counts
(``report``).
"""

from __future__ import annotations

from .agreement import _agreement
from .disputed import find_disputes
from .inputs import AggregationInput, AggregationResult
from .likert import likert_scores
from .pairwise import pair_tallies, pairwise_scores
from .ranking import final_scores, tie_rule
from .report import exclusions, response_flags, run_counts


def aggregate(inp: AggregationInput) -> AggregationResult:
    """Scores, agreement, disputes and exclusions for one project. See DESIGN 5 and the
    docstrings of scoring.core.scores, .krippendorff, .kappa, .consensus, .disputes."""
    likert = likert_scores(inp)
    pairs = pair_tallies(inp)
    pairwise = pairwise_scores(inp, pairs)
    finals = final_scores(inp, likert, pairwise)
    found = find_disputes(inp, likert, pairs)
    agreement = _agreement(
        inp,
        likert.positions,
        likert.values,
        likert.normalized,
        pairs.pair_of_vote,
        pairs.tallies,
        pairs.outcomes,
    )
    final, source = finals.final, finals.source
    has_judgment = (likert.n_likert > 0) | (pairwise.n_pairwise > 0)
    return AggregationResult(
        counts=run_counts(inp, likert, pairs, pairwise, final, source, has_judgment, found),
        exclusions=exclusions(inp, likert, pairs, pairwise, final, has_judgment),
        agreement=agreement,
        disputes=found.rows,
        tie_rule=tie_rule(inp, finals),
        has_judgment=has_judgment,
        criterion_means=likert.means,
        criterion_score=likert.criterion_score,
        borda=pairwise.borda,
        final=final,
        final_source=source,
        n_likert=likert.n_likert,
        n_pairwise=pairwise.n_pairwise,
        pairwise_wins=pairwise.wins,
        rank=finals.ranking.rank,
        flags=response_flags(inp, likert, found),
    )
