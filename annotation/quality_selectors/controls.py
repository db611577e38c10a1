"""The lead's annotator controls: each annotator of the project with whether they are
paused or excluded, and their gold accuracy."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Annotator, Project
from .gold import GoldAccuracyRow, gold_accuracy


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
    from ..access import ANNOTATE
    from ..models import AnnotatorExclusion, Membership

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
