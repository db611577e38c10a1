"""What one aggregation takes and gives: ``AggregationInput`` (judgment arrays read by the
service), ``AggregationResult`` (what the service stores), the criterion spec, the pairwise
outcome codes, the pairwise methods a project can blend, and ``response_positions``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import disputes, kappa
from ..bootstrap import N_RESAMPLES

# Pairwise outcomes in canonical orientation (response_a.pk < response_b.pk).
A_WINS, B_WINS, TIE = 0, 1, 2
OUTCOMES = ("a", "b", "tie")


# The pairwise score in the blend (a project setting): Borda, or the Bradley-Terry
# probability of beating the prompt's other responses (bradley_terry.per_prompt).
BORDA, BRADLEY_TERRY = "borda", "bradley_terry"
PAIRWISE_METHODS = (BORDA, BRADLEY_TERRY)


@dataclass(frozen=True)
class CriterionSpec:
    key: str
    scale_min: int
    scale_max: int
    level: str
    weight: float

    @property
    def domain(self) -> np.ndarray:
        return np.arange(self.scale_min, self.scale_max + 1, dtype=np.float64)


@dataclass
class AggregationInput:
    criteria: list[CriterionSpec]
    # Every response of the project, sorted by id.
    response_ids: np.ndarray
    response_prompts: np.ndarray
    response_domains: np.ndarray
    domain_names: dict[int, str]
    # Likert judgments: one row each; values (n, C) raw points, NaN where a criterion is unrated.
    likert_responses: np.ndarray
    likert_annotators: np.ndarray
    likert_values: np.ndarray
    # Pairwise judgments in canonical orientation; outcome A_WINS | B_WINS | TIE.
    pair_a: np.ndarray
    pair_b: np.ndarray
    pair_annotators: np.ndarray
    pair_outcomes: np.ndarray
    likert_quorum: int = 5
    pairwise_quorum: int = 3
    blend_alpha: float = 0.6
    pairwise_method: str = BORDA
    seed: int = 0
    tie_tolerance: float = 1e-6
    n_resamples: int = N_RESAMPLES
    min_shared: int = kappa.MIN_SHARED
    dispute_span: int = disputes.LIKERT_SPAN
    # The database ids of the judgments read, row by row (empty when the caller has none):
    # the run records them, and releases built from the run export exactly these.
    likert_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pairwise_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # A lead's adjudications in force (scoring.core.adjudication): responses with their
    # ratings (k, C) raw points; pairs in canonical orientation with an outcome.
    adjudicated_responses: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    adjudicated_values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    adjudicated_pair_a: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    adjudicated_pair_b: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    adjudicated_pair_outcomes: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )


def response_positions(ids: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    """Positions of ``ids`` in ``sorted_ids`` (``AggregationInput.response_ids``, sorted by
    id) by binary search. Every id is expected to be present; one that is not gets the
    position it would be inserted at (no check is made here)."""
    return np.searchsorted(sorted_ids, np.asarray(ids, dtype=np.int64))


@dataclass
class AggregationResult:
    counts: dict
    exclusions: list[dict]
    agreement: dict
    disputes: list[dict]
    tie_rule: dict
    # Per response (aligned with AggregationInput.response_ids); only rows with a judgment
    # are stored (``has_judgment``).
    has_judgment: np.ndarray
    criterion_means: np.ndarray
    criterion_score: np.ndarray
    borda: np.ndarray
    final: np.ndarray
    final_source: np.ndarray
    n_likert: np.ndarray
    n_pairwise: np.ndarray
    pairwise_wins: np.ndarray
    rank: np.ndarray
    flags: list[list[str]] = field(default_factory=list)
