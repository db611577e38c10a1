"""Quality-control reads (DESIGN 4.5): each annotator's gold accuracy with its n, as plain
rows for the lead's annotator table."""

from __future__ import annotations

from dataclasses import dataclass

from .models import Annotator, GoldItem, LikertJudgment, PairwiseJudgment, Project


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
