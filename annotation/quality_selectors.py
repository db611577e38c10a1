"""Quality-control reads (DESIGN 4.5): each annotator's gold accuracy with its n, and the
annotator checks (speed, straight-lining, left-pick share with its binomial test, skip and
flag rates, against the project's thresholds), as plain rows for the lead's annotator table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact
from scipy.stats import beta, binom

from .models import (
    Annotator,
    Assignment,
    GoldItem,
    LikertJudgment,
    PairwiseJudgment,
    Project,
)


@dataclass(frozen=True)
class GoldAccuracyRow:
    annotator_id: int
    annotator: str
    n: int  # gold answers given
    correct: int

    @property
    def accuracy(self) -> float | None:
        """correct / n; None without gold answers (not 0: nothing was measured)."""
        return self.correct / self.n if self.n else None


def gold_likert_correct(ratings: dict, expected: dict, tolerance: int) -> bool:
    """Every expected criterion rated within ``tolerance`` points (a missing one is wrong)."""
    return all(
        isinstance(ratings.get(key), int) and abs(ratings[key] - value) <= tolerance
        for key, value in expected.items()
    )


def _canonical_choice(choice: str, left_id: int, response_a_id: int) -> str:
    if choice == PairwiseJudgment.Choice.TIE:
        return "tie"
    picked_left = choice == PairwiseJudgment.Choice.LEFT
    return "a" if picked_left == (left_id == response_a_id) else "b"


def gold_accuracy(*, project: Project) -> list[GoldAccuracyRow]:
    """Per annotator who answered a gold item of the project: how many answers, how many
    correct. A Likert answer is correct when every criterion is within the item's tolerance,
    a pairwise answer when its choice (mapped from the sides shown to a / b / tie) is the
    expected one. Only answers given as gold (``gold`` judgments) on items still gold count.
    Four queries whatever the number of annotators; ordered by annotator id."""
    likert_items: dict[int, tuple[dict, int]] = {}
    pair_items: dict[tuple[int, int], str] = {}
    for kind, a, b, expected, tolerance, choice in GoldItem.objects.filter(
        project=project
    ).values_list(
        "kind", "response_a_id", "response_b_id", "expected_ratings", "tolerance", "expected_choice"
    ):
        if kind == GoldItem.Kind.LIKERT:
            likert_items[a] = (expected, tolerance)
        else:
            pair_items[(a, b)] = choice
    tally: dict[int, list[int]] = {}
    for annotator_id, response_id, ratings in LikertJudgment.objects.filter(
        gold=True, response_id__in=list(likert_items)
    ).values_list("annotator_id", "response_id", "ratings"):
        expected, tolerance = likert_items[response_id]
        counts = tally.setdefault(annotator_id, [0, 0])
        counts[0] += 1
        counts[1] += gold_likert_correct(ratings, expected, tolerance)
    if pair_items:
        for annotator_id, a, b, left, choice in PairwiseJudgment.objects.filter(
            gold=True, prompt__project=project
        ).values_list("annotator_id", "response_a_id", "response_b_id", "left_id", "choice"):
            expected = pair_items.get((a, b))
            if expected is None:
                continue
            counts = tally.setdefault(annotator_id, [0, 0])
            counts[0] += 1
            counts[1] += _canonical_choice(choice, left, a) == expected
    labels = {
        pk: username or external
        for pk, username, external in Annotator.objects.filter(pk__in=list(tally)).values_list(
            "pk", "user__username", "external_id"
        )
    }
    return [
        GoldAccuracyRow(annotator_id=a, annotator=labels.get(a, str(a)), n=n, correct=c)
        for a, (n, c) in sorted(tally.items())
    ]


@dataclass(frozen=True)
class AnnotatorControlRow:
    """One annotator on the lead page: who, whether paused or excluded, gold accuracy."""

    annotator_id: int
    name: str
    member: bool  # a member can be paused; an imported rater only excluded
    paused: bool
    excluded: bool
    gold: GoldAccuracyRow | None


def annotator_controls(*, project: Project) -> list[AnnotatorControlRow]:
    """The project's annotating members who have started (they have an Annotator row) and
    its imported raters, by name. Five queries whatever their number."""
    from .access import ANNOTATE
    from .models import AnnotatorExclusion, Membership

    excluded = set(
        AnnotatorExclusion.objects.filter(project=project).values_list("annotator_id", flat=True)
    )
    gold = {row.annotator_id: row for row in gold_accuracy(project=project)}
    rows = [
        AnnotatorControlRow(
            annotator_id=annotator_id,
            name=username,
            member=True,
            paused=paused_at is not None,
            excluded=annotator_id in excluded,
            gold=gold.get(annotator_id),
        )
        for annotator_id, username, paused_at in Membership.objects.filter(
            project=project, role__in=list(ANNOTATE), user__annotator__isnull=False
        ).values_list("user__annotator__id", "user__username", "paused_at")
    ]
    rows += [
        AnnotatorControlRow(
            annotator_id=annotator_id,
            name=external_id,
            member=False,
            paused=False,
            excluded=annotator_id in excluded,
            gold=gold.get(annotator_id),
        )
        for annotator_id, external_id in Annotator.objects.filter(project=project).values_list(
            "pk", "external_id"
        )
    ]
    return sorted(rows, key=lambda r: (r.name.casefold(), r.annotator_id))


# Annotator checks (DESIGN 4.5) --------------------------------------------------------------


class Median(Aggregate):
    """PostgreSQL's ``percentile_cont(0.5)``: the median, interpolated; NULLs are ignored and
    a group of NULLs gives NULL. One aggregate per group, so the rows never leave the
    database (the 15,000-prompt project has over 300,000 judgments)."""

    function = "PERCENTILE_CONT"
    name = "Median"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _median(field: str):
    """``Median`` on PostgreSQL; SQLite (the embedded default) has no ordered-set aggregate,
    so there the query yields NULL and ``_medians_in_python`` fills the column in."""
    if connection.vendor == "postgresql":
        return Median(field)
    return Value(None, output_field=FloatField())


def _medians_in_python(queryset, field: str) -> dict[int, float]:
    """Per annotator the median of ``field`` (NULLs ignored), read row by row: only for
    SQLite, whose projects are the small embedded default."""
    if connection.vendor == "postgresql":
        return {}
    by_annotator: dict[int, list[float]] = {}
    for annotator, value in queryset.exclude(**{field: None}).values_list("annotator_id", field):
        by_annotator.setdefault(annotator, []).append(value)
    return {a: float(np.median(v)) for a, v in by_annotator.items()}


@dataclass(frozen=True)
class Share:
    """k of n; ``value`` None when n is 0 (nothing was measured, not 0%)."""

    k: int = 0
    n: int = 0

    @property
    def value(self) -> float | None:
        return self.k / self.n if self.n else None


@dataclass(frozen=True)
class LeftPicks:
    """Left picks among the annotator's pairwise choices that were not ties, with the
    two-sided exact binomial test against 0.5 and the Clopper-Pearson 95% interval
    (``left_picks``). Undefined (None) without a non-tie choice."""

    share: Share
    p_value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


def left_picks(left: Sequence[int], right: Sequence[int]) -> list[LeftPicks]:
    """Per annotator, left picks k of n = left + right non-tie choices, tested against 0.5.

    Under p = 0.5 the binomial is symmetric, so the two-sided exact p-value (the sum of the
    outcomes no likelier than k, as ``scipy.stats.binomtest`` computes it) is
    min(1, 2 min(P(X <= k), P(X >= k))). The Clopper-Pearson interval is
    [B(0.025; k, n - k + 1), B(0.975; k + 1, n - k)] with B the beta quantile (0 and 1 at
    the ends), the bounds binomtest's ``proportion_ci(method="exact")`` solves for one
    root at a time. In closed form and vectorized: 40 annotators cost under a millisecond,
    binomtest one by one about 10 ms each (measured).
    """
    k = np.asarray(left, dtype=np.int64)
    n = k + np.asarray(right, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.minimum(1.0, 2 * np.minimum(binom.cdf(k, n, 0.5), binom.sf(k - 1, n, 0.5)))
        low = np.where(k > 0, beta.ppf(0.025, k, n - k + 1), 0.0)
        high = np.where(k < n, beta.ppf(0.975, k + 1, n - k), 1.0)
    return [
        LeftPicks(Share(int(k[i]), int(n[i])), float(p[i]), float(low[i]), float(high[i]))
        if n[i]
        else LeftPicks(Share(0, 0))
        for i in range(k.size)
    ]


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


def _straight_lined(keys: list[str]) -> Q | None:
    """Every criterion rated, all with the same point. Undefined (None) with fewer than two
    criteria. ``KeyTextTransform`` takes the key as one key, so "a__b" is not a path."""
    if len(keys) < 2:
        return None
    first = KeyTextTransform(keys[0], "ratings")
    return Q(*(Exact(KeyTextTransform(key, "ratings"), first) for key in keys[1:]))


# One annotator's counted figures, in this order (``annotator_stats``; JSON in the stored
# dashboard figures): Likert judgments, their median milliseconds, straight-lined, flagged;
# pairwise judgments, their median milliseconds, left picks, right picks, flagged; leases
# ended done or skipped, skipped.
STAT_FIELDS = (
    "n_likert",
    "median_ms_likert",
    "straight",
    "flagged_likert",
    "n_pairwise",
    "median_ms_pairwise",
    "left",
    "right",
    "flagged_pairwise",
    "leases",
    "skipped",
)
NO_STATS = (0, None, 0, 0, 0, None, 0, 0, 0, 0, 0)


def annotator_stats(*, project: Project, keys: list[str]) -> dict[int, tuple]:
    """Per annotator id, the ``STAT_FIELDS`` over their non-gold judgments and ended leases
    in the project: the part of the checks that reads every judgment. ``keys``: the
    project's criteria keys in order (straight-lining). Three grouped queries (Likert,
    pairwise, leases), whatever the number of annotators.
    The lead's panel reads them from the stored dashboard figures, which
    ``annotation.services.dashboard`` refreshes with this function."""
    same = _straight_lined(keys)
    flagged = ~Q(flags=[])
    likert_rows = LikertJudgment.objects.filter(response__project=project, gold=False)
    pairwise_rows = PairwiseJudgment.objects.filter(prompt__project=project, gold=False)
    likert_medians = _medians_in_python(likert_rows, "duration_ms")
    pairwise_medians = _medians_in_python(pairwise_rows, "duration_ms")
    stats: dict[int, list] = {}
    for a, n, median, straight, flags in (
        likert_rows.order_by()
        .values("annotator_id")
        .annotate(
            n=Count("pk"),
            median=_median("duration_ms"),
            straight=Count("pk", filter=same) if same is not None else Value(0),
            flagged=Count("pk", filter=flagged),
        )
        .values_list("annotator_id", "n", "median", "straight", "flagged")
    ):
        stats.setdefault(a, list(NO_STATS))[0:4] = [
            n,
            likert_medians.get(a, median),
            straight,
            flags,
        ]
    for a, n, median, left, right, flags in (
        pairwise_rows.order_by()
        .values("annotator_id")
        .annotate(
            n=Count("pk"),
            median=_median("duration_ms"),
            left=Count("pk", filter=Q(choice=PairwiseJudgment.Choice.LEFT)),
            right=Count("pk", filter=Q(choice=PairwiseJudgment.Choice.RIGHT)),
            flagged=Count("pk", filter=flagged),
        )
        .values_list("annotator_id", "n", "median", "left", "right", "flagged")
    ):
        stats.setdefault(a, list(NO_STATS))[4:9] = [
            n,
            pairwise_medians.get(a, median),
            left,
            right,
            flags,
        ]
    State = Assignment.State
    for a, n, skipped in (
        Assignment.objects.filter(project=project, state__in=[State.DONE, State.SKIPPED])
        .order_by()
        .values("annotator_id")
        .annotate(n=Count("pk"), skipped=Count("pk", filter=Q(state=State.SKIPPED)))
        .values_list("annotator_id", "n", "skipped")
    ):
        stats.setdefault(a, list(NO_STATS))[9:11] = [n, skipped]
    return {a: tuple(v) for a, v in stats.items()}


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
