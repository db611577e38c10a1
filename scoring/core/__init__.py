"""Aggregation math: plain numpy/scipy functions, no Django (tests/scoring proves it).

Modules: krippendorff (alpha at three levels with bootstrap CIs), kappa (Cohen, Fleiss),
scores (normalization, criterion score, Borda, blend, ranking), disputes, consensus
(leave-one-out agreement), bootstrap (vectorized resampling), results (Estimate),
probes (spurious-feature perturbations and their effects, DESIGN 6.4), and three
packages: aggregate (one aggregation run: inputs, agreement, the pipeline), metaeval
(scorers against the humans, DESIGN 6.3) and bradley_terry (the fit, strengths per prompt,
an Arena-style model ranking with bootstrap CIs).
"""

from .results import Estimate, undefined

__all__ = ["Estimate", "undefined"]
