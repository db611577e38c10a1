"""The Likert step of ``aggregate``: per response and criterion, the mean of the normalized
ratings, with a lead's adjudication in place of the annotators' means, and the weighted
criterion score (DESIGN 5; formulas in ``scoring.core.scores`` and ``.adjudication``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import adjudication, scores
from .inputs import AggregationInput, CriterionSpec, response_positions


@dataclass(frozen=True)
class LikertScores:
    """Per Likert judgment (n rows) and per response (N, aligned with ``response_ids``)."""

    positions: np.ndarray  # (n,) the response position of each judgment
    values: np.ndarray  # (n, C) raw points, NaN where a criterion is unrated
    normalized: np.ndarray  # (n, C) the same on [0, 1]
    means: np.ndarray  # (N, C) normalized criterion means; NaN below quorum or unrated
    weights: np.ndarray  # (C,) the criteria's weights
    n_likert: np.ndarray  # (N,) Likert judgments per response
    quorum_met: np.ndarray  # (N,) at Likert quorum, or adjudicated
    below_quorum: np.ndarray  # (N,) judged, but below quorum and not adjudicated
    decided: np.ndarray  # (N,) adjudicated
    criterion_score: np.ndarray  # (N,) sum_c w_c * mean_c; NaN when not defined
    unrated_criterion: np.ndarray  # (N,) at quorum, but the criterion score is NaN


def normalize_columns(values: np.ndarray, criteria: list[CriterionSpec]) -> np.ndarray:
    """Each column c of ``values`` (n, C), raw points, mapped onto [0, 1] by its criterion's
    scale: s = (v - min) / (max - min) (``scores.normalize``). NaN stays NaN. Needs C >= 1
    (``numpy.column_stack`` of no columns raises)."""
    return np.column_stack(
        [scores.normalize(values[:, c], s.scale_min, s.scale_max) for c, s in enumerate(criteria)]
    )


def likert_scores(inp: AggregationInput) -> LikertScores:
    """Criterion means and criterion scores per response.

    mean_c(i) = the NaN-ignoring mean of response i's normalized ratings on criterion c
    (``scores.group_means``), set to NaN where i has fewer than ``likert_quorum`` Likert
    judgments. An adjudicated response takes its criterion means from the adjudication,
    normalized the same way, whatever its number of judgments, and counts as at quorum
    (``scoring.core.adjudication``; adjudications of responses not in the run are ignored).
    criterion_score(i) = sum_c w_c * mean_c(i) (``scores.criterion_score``): NaN when a
    criterion with positive weight has no rating. A project without criteria raises
    ``ValueError``: numpy cannot reshape the ratings to (-1, 0), so the ``if n_crit``
    fallbacks here and in the later steps are not reached today.
    """
    criteria = inp.criteria
    n_resp = inp.response_ids.size
    n_crit = len(criteria)
    lr = response_positions(inp.likert_responses, inp.response_ids)
    values = np.asarray(inp.likert_values, dtype=np.float64).reshape(-1, n_crit)
    normalized = normalize_columns(values, criteria) if n_crit else np.zeros((lr.size, 0))

    means, _ = scores.group_means(lr, normalized, n_resp)
    n_likert = np.bincount(lr, minlength=n_resp)
    quorum_met = n_likert >= inp.likert_quorum
    means[~quorum_met] = np.nan
    # An adjudicated response takes its criterion means from the adjudication.
    present, at = adjudication.present_positions(inp.adjudicated_responses, inp.response_ids)
    decided = np.zeros(n_resp, dtype=bool)
    decided[at[present]] = True
    if n_crit and present.any():
        decided_values = np.asarray(inp.adjudicated_values, dtype=np.float64).reshape(-1, n_crit)
        means[at[present]] = normalize_columns(decided_values[present], criteria)
    quorum_met |= decided
    weights = np.array([c.weight for c in criteria])
    crit_score = scores.criterion_score(means, weights) if n_crit else np.full(n_resp, np.nan)
    return LikertScores(
        positions=lr,
        values=values,
        normalized=normalized,
        means=means,
        weights=weights,
        n_likert=n_likert,
        quorum_met=quorum_met,
        below_quorum=(n_likert > 0) & ~quorum_met,
        decided=decided,
        criterion_score=crit_score,
        unrated_criterion=quorum_met & np.isnan(crit_score),
    )
