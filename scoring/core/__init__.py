"""Aggregation math: plain numpy/scipy functions, no Django (tests/scoring proves it).

Modules: krippendorff (alpha at three levels with bootstrap CIs), kappa (Cohen, Fleiss),
scores (normalization, criterion score, Borda, blend, ranking), disputes, consensus
(leave-one-out agreement), bootstrap (vectorized resampling), results (Estimate).
"""

from .results import Estimate, undefined

__all__ = ["Estimate", "undefined"]
