"""Gold accuracy (DESIGN 4.5): per annotator, how many gold items they answered and how
many correctly, a Likert answer within the item's tolerance, a pairwise one on the
expected side."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import (
    Annotator,
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
