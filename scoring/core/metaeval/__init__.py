"""Meta-evaluation (DESIGN 6.3): scorers measured against the project's own humans.

Pure numpy/scipy (and scikit-learn's IsotonicRegression), no Django. Every figure is an
``Estimate`` with a 95% bootstrap CI over prompts (``_boot``: one resample-weight matrix of
shape (B, n_prompts), statistics as weighted sums; draw it once with ``Resampler.draw`` and
pass it as ``rng`` to every figure), or "undefined" with a reason.

Modules: pairs (voted and score-derived human pairs, calibration split), accuracy
(pairwise accuracy, acc_eq with tie calibration, judge accuracy and macro P/R/F1),
correlation (Kendall tau_b and Spearman per prompt, flat, system level), calibration
(temperature-scaled Bradley-Terry, isotonic, ECE / Brier / log loss, reliability data),
bias (length bias, breakdowns by domain and generator), ceiling (human noise ceiling).
"""

from ._boot import Resampler
from .accuracy import AccEq, JudgeScores, acc_eq, judge_scores, pairwise_accuracy
from .bias import LengthBias, accuracy_by_group, length_bias, length_correlation, tau_by_group
from .calibration import Calibration, CalibrationSide, calibration, expected_calibration_error
from .ceiling import NoiseCeiling, noise_ceiling_likert, noise_ceiling_votes
from .correlation import Correlations, SystemCorrelations, correlations, system_correlations
from .pairs import TIE, A, B, Pairs, calibration_split, score_derived_pairs, voted_pairs

__all__ = [
    "A",
    "B",
    "TIE",
    "AccEq",
    "Calibration",
    "CalibrationSide",
    "Correlations",
    "JudgeScores",
    "LengthBias",
    "NoiseCeiling",
    "Pairs",
    "Resampler",
    "SystemCorrelations",
    "acc_eq",
    "accuracy_by_group",
    "calibration",
    "calibration_split",
    "correlations",
    "expected_calibration_error",
    "judge_scores",
    "length_bias",
    "length_correlation",
    "noise_ceiling_likert",
    "noise_ceiling_votes",
    "pairwise_accuracy",
    "score_derived_pairs",
    "system_correlations",
    "tau_by_group",
    "voted_pairs",
]
