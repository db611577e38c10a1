"""Quality control writes (DESIGN 4.5): gold items, pausing annotators, excluding them from
aggregation. Each is reversible; none deletes a judgment."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from ..errors import DomainError
from ..models import (
    Annotator,
    AnnotatorExclusion,
    GoldItem,
    Membership,
    Project,
    Response,
    Task,
)
from .dashboard import dashboard_mark_stale_on_commit
from .judgments import clean_ratings
from .tasks import tasks_sync_if_stale

MAX_EXPLANATION = 5000
MAX_TOLERANCE = 10


def gold_check(
    *,
    project: Project,
    response: Response,
    response_b: Response | None = None,
    expected_ratings: dict[str, Any] | None = None,
    expected_choice: str = "",
    tolerance: Any = 1,
    explanation: str = "",
) -> dict[str, Any]:
    """Validate a gold item; the cleaned fields, pair in canonical order, or a DomainError
    naming what to fix. ``expected_choice`` is a, b or tie for ``response`` (a) against
    ``response_b`` (b), as given."""
    if response.project_id != project.pk:
        raise DomainError("This response belongs to another project.")
    explanation = (explanation or "").strip()
    if not explanation:
        raise DomainError("Write an explanation: annotators' mistakes are judged against it.")
    if len(explanation) > MAX_EXPLANATION:
        raise DomainError(f"The explanation is too long ({MAX_EXPLANATION} characters at most).")
    if response_b is None:
        if expected_choice:
            raise DomainError("A single response takes expected ratings, not a choice.")
        try:
            tolerance = int(tolerance)
        except (TypeError, ValueError):
            raise DomainError(
                "The tolerance must be a whole number of points (default 1)."
            ) from None
        if not 0 <= tolerance <= MAX_TOLERANCE:
            raise DomainError(f"The tolerance must be between 0 and {MAX_TOLERANCE} points.")
        if not isinstance(expected_ratings, dict) or not expected_ratings:
            raise DomainError("Give the expected rating of every criterion.")
        return {
            "kind": GoldItem.Kind.LIKERT,
            "response_a": response,
            "response_b": None,
            "expected_ratings": clean_ratings(project, expected_ratings),
            "tolerance": tolerance,
            "expected_choice": "",
            "explanation": explanation,
        }
    if response_b.project_id != project.pk or response_b.prompt_id != response.prompt_id:
        raise DomainError("Both responses of a gold pair must answer the same prompt.")
    if response_b.pk == response.pk:
        raise DomainError("A gold pair needs two different responses.")
    if expected_ratings:
        raise DomainError("A pair takes an expected choice (a, b or tie), not ratings.")
    if expected_choice not in GoldItem.Choice.values:
        raise DomainError("Choose the expected winner of the pair: a, b or tie.")
    a, b = response, response_b
    if a.pk > b.pk:
        a, b = b, a
        expected_choice = {"a": "b", "b": "a"}.get(expected_choice, expected_choice)
    return {
        "kind": GoldItem.Kind.PAIRWISE,
        "response_a": a,
        "response_b": b,
        "expected_ratings": {},
        "tolerance": 0,
        "expected_choice": expected_choice,
        "explanation": explanation,
    }


def gold_mark(
    *,
    project: Project,
    response: Response,
    response_b: Response | None = None,
    expected_ratings: dict[str, Any] | None = None,
    expected_choice: str = "",
    tolerance: Any = 1,
    explanation: str = "",
    by: AbstractBaseUser | None = None,
) -> GoldItem:
    """Mark a response (expected ratings, +-``tolerance``) or a pair (expected choice) gold.

    Its prompt becomes a gold prompt: its tasks leave the normal stream and its judgments
    stay out of aggregation and releases. Marking the same item again updates it.
    """
    fields = gold_check(
        project=project,
        response=response,
        response_b=response_b,
        expected_ratings=expected_ratings,
        expected_choice=expected_choice,
        tolerance=tolerance,
        explanation=explanation,
    )
    tasks_sync_if_stale(project=project)
    a, b = fields["response_a"], fields["response_b"]
    prompt = a.prompt
    with transaction.atomic():
        # A pair outside the prompt's pair design has no task yet; gold needs one to lease.
        task, _ = Task.objects.get_or_create(
            kind=fields["kind"],
            response_a=a,
            response_b=b,
            defaults={
                "project": project,
                "domain_id": prompt.domain_id,
                "prompt": prompt,
                "quorum": project.likert_quorum if b is None else project.pairwise_quorum,
            },
        )
        gold, _ = GoldItem.objects.update_or_create(
            task=task,
            defaults={
                "project": project,
                "prompt": prompt,
                "created_by": by,
                **fields,
            },
        )
        # Gold prompts are left out of the stored composition counts.
        dashboard_mark_stale_on_commit(project_id=project.pk)
    return gold


def gold_unmark(*, gold: GoldItem) -> None:
    """Remove a gold item. Answers already given stay stored and flagged as gold; once its
    prompt has no gold item left, its tasks rejoin the stream and its judgments the runs."""
    with transaction.atomic():
        gold.delete()
        dashboard_mark_stale_on_commit(project_id=gold.project_id)


def _membership(project: Project, annotator: Annotator) -> Membership:
    membership = Membership.objects.filter(project=project, user_id=annotator.user_id).first()
    if annotator.user_id is None or membership is None:
        raise DomainError("Only members of this project can be paused or resumed.")
    return membership


def annotator_pause(*, project: Project, annotator: Annotator) -> Membership:
    """From now on the annotator gets no new lease here (the claim refuses at once); a task
    they hold can still be submitted: human work is never thrown away."""
    membership = _membership(project, annotator)
    Membership.objects.filter(pk=membership.pk, paused_at__isnull=True).update(
        paused_at=timezone.now()
    )
    membership.refresh_from_db(fields=["paused_at"])
    return membership


def annotator_resume(*, project: Project, annotator: Annotator) -> Membership:
    membership = _membership(project, annotator)
    Membership.objects.filter(pk=membership.pk).update(paused_at=None)
    membership.paused_at = None
    return membership


def annotator_judges_in(project: Project, annotator: Annotator) -> bool:
    """Whether the annotator belongs to the project: a member, or a rater with judgments
    there (an imported one, or a former member)."""
    if annotator.user_id is None:
        return annotator.project_id == project.pk
    return Membership.objects.filter(project=project, user_id=annotator.user_id).exists() or (
        annotator.likert_judgments.filter(response__project=project).exists()
        or annotator.pairwise_judgments.filter(prompt__project=project).exists()
    )


def annotator_exclude(
    *, project: Project, annotator: Annotator, reason: str = "", by: AbstractBaseUser | None = None
) -> AnnotatorExclusion:
    """Leave the annotator's judgments in this project out of the next aggregation runs
    (each run records who was left out and how many judgments). Nothing is deleted."""
    if not annotator_judges_in(project, annotator):
        raise DomainError("This annotator has no membership or judgments in this project.")
    exclusion, _ = AnnotatorExclusion.objects.get_or_create(
        project=project, annotator=annotator, defaults={"reason": reason.strip(), "created_by": by}
    )
    return exclusion


def annotator_include(*, project: Project, annotator: Annotator) -> bool:
    """Undo ``annotator_exclude``: the next run counts their judgments again."""
    deleted, _ = AnnotatorExclusion.objects.filter(project=project, annotator=annotator).delete()
    return bool(deleted)
