"""The counted part of the annotator checks (DESIGN 4.5): per annotator, judgments, median
durations, straight-lined and flagged judgments, left and right picks, ended and skipped
leases, in grouped queries (``annotator_stats``), the figures the dashboard stores."""

from __future__ import annotations

import numpy as np
from django.db import connection
from django.db.models import Aggregate, Count, FloatField, Q, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import Exact

from ..models import (
    Assignment,
    LikertJudgment,
    PairwiseJudgment,
    Project,
)


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
