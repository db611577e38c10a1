"""One aggregation, from judgment arrays to scores, agreement and disputes (DESIGN 5).

Pure: the service reads the database into an ``AggregationInput``, calls ``aggregate`` and
stores the ``AggregationResult``. Everything here is deterministic given the input: the
bootstrap draws from ``numpy.random.default_rng([seed, stream])``, one fixed stream per
statistic, so adding a domain does not move another figure's interval.

Modules: inputs (the input and result dataclasses, outcome codes, pairwise methods),
pipeline (``aggregate``, which calls the steps in order), likert (criterion means and
scores, adjudications), pairwise (tallies, Borda or Bradley-Terry), ranking (the blend, the
ranking and its tie rule), disputed (the review queue's disputes), agreement (Krippendorff,
Fleiss, Cohen and per-annotator consensus, per domain), report (exclusions, flags, counts).
"""

from .agreement import STREAM_DOMAIN, STREAM_FLEISS, STREAM_LIKERT, STREAM_PAIRWISE_ALPHA
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
    CriterionSpec,
)
from .pipeline import aggregate

__all__ = [
    "A_WINS",
    "B_WINS",
    "BORDA",
    "BRADLEY_TERRY",
    "OUTCOMES",
    "PAIRWISE_METHODS",
    "STREAM_DOMAIN",
    "STREAM_FLEISS",
    "STREAM_LIKERT",
    "STREAM_PAIRWISE_ALPHA",
    "TIE",
    "AggregationInput",
    "AggregationResult",
    "CriterionSpec",
    "aggregate",
]
