"""Quality-control reads (DESIGN 4.5): each annotator's gold accuracy with its n, and the
annotator checks (speed, straight-lining, left-pick share with its binomial test, skip and
flag rates, against the project's thresholds), as plain rows for the lead's annotator table.

``gold``: gold accuracy; ``controls``: the annotators with pause, exclusion and gold;
``position_bias``: left picks and their binomial test; ``stats``: the counted figures
(``annotator_stats``); ``checks``: the rows and their warnings (``annotator_checks``)."""

from .checks import (
    AnnotatorCheckRow,
    AnnotatorChecks,
    CheckWarning,
    annotator_checks,
    check_warnings,
)
from .controls import AnnotatorControlRow, annotator_controls
from .gold import GoldAccuracyRow, gold_accuracy, gold_likert_correct
from .position_bias import LeftPicks, Share, left_picks
from .stats import NO_STATS, STAT_FIELDS, Median, annotator_stats

__all__ = [
    "NO_STATS",
    "STAT_FIELDS",
    "AnnotatorCheckRow",
    "AnnotatorChecks",
    "AnnotatorControlRow",
    "CheckWarning",
    "GoldAccuracyRow",
    "LeftPicks",
    "Median",
    "Share",
    "annotator_checks",
    "annotator_controls",
    "annotator_stats",
    "check_warnings",
    "gold_accuracy",
    "gold_likert_correct",
    "left_picks",
]
