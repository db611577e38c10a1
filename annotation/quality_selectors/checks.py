"""The annotator checks (DESIGN 4.5): each annotator's speed, agreement, straight-lining,
left-pick share, skip and flag rates, with the warnings the project's thresholds raise, as
plain rows for the lead's annotator table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..models import Project
from .controls import AnnotatorControlRow, annotator_controls
from .position_bias import LeftPicks, Share, left_picks
from .stats import NO_STATS, annotator_stats


@dataclass(frozen=True)
class CheckWarning:
    """A threshold the annotator crossed: ``check`` names it (a badge), ``reason`` says it
    in words with the figures."""

    check: str
    reason: str


@dataclass(frozen=True)
class AnnotatorCheckRow:
    """One annotator's checks. Gold answers count only in ``control.gold``; every other
    figure is over the annotator's non-gold judgments in the project."""

    control: AnnotatorControlRow
    n_likert: int
    n_pairwise: int
    median_seconds_likert: float | None
    median_seconds_pairwise: float | None
    # From the latest aggregation run: mean Pearson r with the others' mean rating, and the
    # share of pairwise units where they chose as the others' majority. None: not measured.
    agreement_r: float | None
    agreement_pairwise: float | None
    in_run: bool
    straight_lining: Share
    left: LeftPicks
    skips: Share
    flags: Share
    warnings: tuple[CheckWarning, ...]

    @property
    def annotator_id(self) -> int:
        return self.control.annotator_id

    @property
    def name(self) -> str:
        return self.control.name

    @property
    def judgments(self) -> int:
        return self.n_likert + self.n_pairwise


@dataclass(frozen=True)
class AnnotatorChecks:
    rows: list[AnnotatorCheckRow]
    # Straight-lined share of all the project's non-gold Likert judgments, to compare with.
    project_straight_lining: Share
    has_run: bool
    criteria: int


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%"


def check_warnings(project: Project, row: AnnotatorCheckRow) -> tuple[CheckWarning, ...]:
    """The project's warning thresholds applied to one row, each with its reason in words.
    A share is judged only once it rests on ``check_min_n`` answers; the left-pick test
    carries its sample size in its p-value, and agreement needs three units in the run."""
    out = []
    min_n = project.check_min_n
    gold = row.control.gold
    if gold is not None and gold.n >= min_n and gold.accuracy < project.check_min_gold_accuracy:
        reason = (
            f"gold accuracy {_pct(gold.accuracy)} ({gold.correct} of {gold.n}) is below "
            f"{_pct(project.check_min_gold_accuracy)}"
        )
        out.append(CheckWarning("gold", reason))
    if row.agreement_r is not None and row.agreement_r < project.check_min_agreement:
        reason = (
            f"agreement with the others' mean rating r = {row.agreement_r:.2f} is below "
            f"{project.check_min_agreement:.2f}"
        )
        out.append(CheckWarning("agreement", reason))
    s = row.straight_lining
    if s.n >= min_n and s.value > project.check_max_straight_lining:
        reason = (
            f"gives every criterion the same point in {_pct(s.value)} of Likert judgments "
            f"(over {_pct(project.check_max_straight_lining)})"
        )
        out.append(CheckWarning("straight-lining", reason))
    left = row.left
    if left.p_value is not None and left.p_value < project.check_left_pick_p:
        reason = (
            f"picks the left response in {_pct(left.share.value)} of {left.share.n} choices "
            f"(binomial p = {left.p_value:.2g}, below {project.check_left_pick_p:g})"
        )
        out.append(CheckWarning("left bias", reason))
    k = row.skips
    if k.n >= min_n and k.value > project.check_max_skip_rate:
        reason = f"skips {_pct(k.value)} of tasks (over {_pct(project.check_max_skip_rate)})"
        out.append(CheckWarning("skips", reason))
    return tuple(out)


def annotator_checks(
    *,
    project: Project,
    agreement: list[dict] | None = None,
    stats: dict[int, Sequence] | None = None,
) -> AnnotatorChecks:
    """Every annotator of ``annotator_controls`` with their checks (DESIGN 4.5).

    ``agreement``: the ``annotators`` rows of the latest aggregation run's agreement
    (scoring computes the leave-one-out consensus; this app does not import it), or None
    without a run. ``stats``: ``annotator_stats`` as stored in the dashboard figures, or
    None to count now. The query count never grows with annotators or judgments; names,
    pause, exclusion and gold accuracy are always read now (gold answers are few).
    """
    controls = annotator_controls(project=project)
    keys = list(project.criteria.order_by("position", "id").values_list("key", flat=True))
    if stats is None:
        stats = annotator_stats(project=project, keys=keys)
    straight_defined = len(keys) >= 2
    consensus = {r["annotator_id"]: r for r in agreement or []}
    per = [tuple(stats.get(c.annotator_id, NO_STATS)) for c in controls]
    tests = left_picks([s[6] for s in per], [s[7] for s in per])
    rows = []
    for control, s, left_test in zip(controls, per, tests, strict=True):
        n_l, median_l, straight, flags_l, n_p, median_p, _, _, flags_p, n_leases, skipped = s
        loo = consensus.get(control.annotator_id, {})
        row = AnnotatorCheckRow(
            control=control,
            n_likert=n_l,
            n_pairwise=n_p,
            median_seconds_likert=None if median_l is None else median_l / 1000,
            median_seconds_pairwise=None if median_p is None else median_p / 1000,
            agreement_r=loo.get("likert_r_mean"),
            agreement_pairwise=loo.get("pairwise_agreement"),
            in_run=control.annotator_id in consensus,
            straight_lining=Share(straight, n_l) if straight_defined else Share(),
            left=left_test,
            skips=Share(skipped, n_leases),
            flags=Share(flags_l + flags_p, n_l + n_p),
            warnings=(),
        )
        rows.append(replace(row, warnings=check_warnings(project, row)))
    total = Share(sum(s[2] for s in stats.values()), sum(s[0] for s in stats.values()))
    return AnnotatorChecks(
        rows=rows,
        project_straight_lining=total if straight_defined else Share(),
        has_run=agreement is not None,
        criteria=len(keys),
    )
