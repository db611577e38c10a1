import random
from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from annotation.models import Assignment, LikertJudgment, PairwiseJudgment, Task
from annotation.services.assignments import (
    assignment_claim_next,
    assignment_skip,
    leases_expire_due,
)
from annotation.services.judgments import judgment_submit_likert, judgment_submit_pairwise
from annotation.services.tasks import pair_design, tasks_sync

from .builders import add_items, make_annotator, make_project, ratings_for

pytestmark = pytest.mark.django_db


def submit(project, annotator, lease, *, now=None, value=3):
    return judgment_submit_likert(
        project=project,
        annotator=annotator,
        assignment_id=lease.pk,
        client_key=uuid4(),
        ratings=ratings_for(project, value),
        now=now,
    )


def test_a_reload_returns_the_current_lease_not_a_new_task():
    project = make_project(likert_quorum=2)
    add_items(project, prompts=5)
    _, ann = make_annotator(project, "a")
    first = assignment_claim_next(project=project, annotator=ann)
    again = assignment_claim_next(project=project, annotator=ann)
    assert first is not None and again.pk == first.pk
    assert Assignment.objects.filter(annotator=ann).count() == 1
    assert Task.objects.get(pk=first.task_id).active_count == 1


def test_an_annotator_never_gets_the_same_task_twice():
    project = make_project(likert_quorum=3)
    add_items(project, prompts=4)
    _, ann = make_annotator(project, "a")
    seen = []
    while (lease := assignment_claim_next(project=project, annotator=ann)) is not None:
        seen.append(lease.task_id)
        submit(project, ann, lease)
    assert len(seen) == 4 and len(set(seen)) == 4


def test_a_second_lease_on_the_same_task_for_one_annotator_is_refused_by_the_database():
    project = make_project()
    add_items(project, prompts=1)
    _, ann = make_annotator(project, "a")
    lease = assignment_claim_next(project=project, annotator=ann)
    lease.state = Assignment.State.DONE
    lease.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(
            project=project,
            task_id=lease.task_id,
            annotator=ann,
            leased_at=timezone.now(),
            expires_at=timezone.now(),
        )


def test_when_every_open_task_is_leased_the_next_annotator_gets_nothing():
    project = make_project(likert_quorum=1)
    add_items(project, prompts=1)
    _, first = make_annotator(project, "a")
    _, second = make_annotator(project, "b")
    assert assignment_claim_next(project=project, annotator=first) is not None
    assert assignment_claim_next(project=project, annotator=second) is None
    task = Task.objects.get()
    assert (task.done_count, task.active_count, task.filled) == (0, 1, 1)


def test_an_expired_lease_frees_its_slot_lazily_and_the_late_judgment_is_kept_over_quorum():
    project = make_project(likert_quorum=1, lease_seconds=60)
    add_items(project, prompts=1)
    _, slow = make_annotator(project, "slow")
    _, fast = make_annotator(project, "fast")
    start = timezone.now()
    slow_lease = assignment_claim_next(project=project, annotator=slow, now=start)
    assert (
        assignment_claim_next(project=project, annotator=fast, now=start + timedelta(seconds=59))
        is None
    )

    later = start + timedelta(seconds=61)  # time moved forward, not slept
    fast_lease = assignment_claim_next(project=project, annotator=fast, now=later)
    assert fast_lease is not None and fast_lease.task_id == slow_lease.task_id
    slow_lease.refresh_from_db()
    assert slow_lease.state == Assignment.State.EXPIRED
    submit(project, fast, fast_lease, now=later)

    late = submit(project, slow, slow_lease, now=later + timedelta(seconds=5))
    assert late.created and late.judgment.over_quorum
    task = Task.objects.get()
    assert (task.done_count, task.active_count, task.quorum) == (1, 0, 1)
    assert LikertJudgment.objects.filter(response_id=task.response_a_id).count() == 2
    assert list(LikertJudgment.objects.order_by("id").values_list("over_quorum", flat=True)) == [
        False,
        True,
    ]


def test_a_late_judgment_takes_a_free_slot_and_is_not_over_quorum():
    project = make_project(likert_quorum=2, lease_seconds=60)
    add_items(project, prompts=1)
    _, ann = make_annotator(project, "a")
    start = timezone.now()
    lease = assignment_claim_next(project=project, annotator=ann, now=start)
    assert leases_expire_due(project=project, now=start + timedelta(minutes=5)) == 1
    assert Task.objects.get().filled == 0
    result = submit(project, ann, lease, now=start + timedelta(minutes=6))
    assert not result.judgment.over_quorum
    assert (Task.objects.get().done_count, Task.objects.get().filled) == (1, 1)


def test_a_lease_past_its_expiry_whose_slot_nobody_took_still_counts():
    project = make_project(likert_quorum=1, lease_seconds=60)
    add_items(project, prompts=1)
    _, ann = make_annotator(project, "a")
    start = timezone.now()
    lease = assignment_claim_next(project=project, annotator=ann, now=start)
    result = submit(project, ann, lease, now=start + timedelta(minutes=10))
    assert not result.judgment.over_quorum
    task = Task.objects.get()
    assert (task.done_count, task.active_count, task.filled) == (1, 0, 1)


def test_a_skipped_task_frees_its_slot_and_is_never_offered_again():
    project = make_project(likert_quorum=1)
    add_items(project, prompts=1)
    _, ann = make_annotator(project, "a")
    _, other = make_annotator(project, "b")
    lease = assignment_claim_next(project=project, annotator=ann)
    assignment_skip(
        project=project,
        annotator=ann,
        assignment_id=lease.pk,
        reason="unqualified",
        note="not my field",
    )
    lease.refresh_from_db()
    assert (lease.state, lease.skip_reason, lease.skip_note) == (
        "skipped",
        "unqualified",
        "not my field",
    )
    assert assignment_claim_next(project=project, annotator=ann) is None
    assert assignment_claim_next(project=project, annotator=other).task_id == lease.task_id


def test_pairs_open_only_once_the_prompts_responses_reached_the_likert_quorum():
    project = make_project(likert_quorum=1, pairwise_quorum=1)
    add_items(project, prompts=1, responses=2)
    _, ann = make_annotator(project, "a")
    kinds = []
    while (lease := assignment_claim_next(project=project, annotator=ann)) is not None:
        kinds.append(lease.task.kind)
        if lease.task.kind == Task.Kind.LIKERT:
            submit(project, ann, lease)
        else:
            judgment_submit_pairwise(
                project=project,
                annotator=ann,
                assignment_id=lease.pk,
                client_key=uuid4(),
                choice="left",
            )
    assert kinds == ["likert", "likert", "pairwise"]


def test_with_a_pairwise_weight_pairs_are_mixed_in_from_the_start():
    project = make_project(likert_quorum=5, pairwise_quorum=5, pairwise_weight=1.0)
    add_items(project, prompts=3, responses=2)
    _, ann = make_annotator(project, "a")
    lease = assignment_claim_next(project=project, annotator=ann)
    assert lease.task.kind == Task.Kind.PAIRWISE


def test_left_and_right_are_randomized_per_lease_and_stored_as_shown():
    project = make_project(likert_quorum=1, pairwise_quorum=40, pairwise_weight=1.0)
    add_items(project, prompts=1, responses=2)
    flips = []
    for i in range(40):
        _, ann = make_annotator(project, f"a{i}")
        lease = assignment_claim_next(project=project, annotator=ann)
        judgment = judgment_submit_pairwise(
            project=project,
            annotator=ann,
            assignment_id=lease.pk,
            client_key=uuid4(),
            choice="left",
        ).judgment
        task = lease.task
        expected_left = task.response_b_id if lease.flipped else task.response_a_id
        assert (judgment.left_id, judgment.response_a_id, judgment.response_b_id) == (
            expected_left,
            task.response_a_id,
            task.response_b_id,
        )
        flips.append(lease.flipped)
    assert 5 < sum(flips) < 35
    assert PairwiseJudgment.objects.count() == 40


def test_a_prompt_with_up_to_four_responses_gets_all_pairs():
    assert pair_design([3, 1, 2, 4], rng=random.Random(0)) == [
        (1, 2),
        (1, 3),
        (1, 4),
        (2, 3),
        (2, 4),
        (3, 4),
    ]
    assert pair_design([7], rng=random.Random(0)) == []


@pytest.mark.parametrize("n", [5, 6, 7, 9, 12])
def test_above_four_responses_the_pair_design_is_balanced_and_connected(n):
    pairs = pair_design(list(range(100, 100 + n)), rng=random.Random(n))
    degree = {r: 0 for r in range(100, 100 + n)}
    for a, b in pairs:
        assert a < b
        degree[a] += 1
        degree[b] += 1
    assert set(degree.values()) == {4}
    reached, frontier = {100}, [100]
    while frontier:
        node = frontier.pop()
        for a, b in pairs:
            for x, y in ((a, b), (b, a)):
                if x == node and y not in reached:
                    reached.add(y)
                    frontier.append(y)
    assert reached == set(degree)


def test_task_sync_is_idempotent_and_builds_a_likert_task_per_response_and_the_pair_design():
    project = make_project()
    add_items(project, prompts=2, responses=3)
    add_items(project, prompts=1, responses=6, start=10)
    first = tasks_sync(project=project)
    again = tasks_sync(project=project)
    assert (first.likert_created, first.pairwise_created) == (12, 2 * 3 + 12)
    assert (again.likert_created, again.pairwise_created) == (0, 0)
    assert Task.objects.filter(kind="likert").count() == 12
    assert Task.objects.filter(kind="pairwise").count() == 18


def test_a_lowered_quorum_never_leaves_a_task_over_its_quorum():
    project = make_project(likert_quorum=3)
    add_items(project, prompts=1)
    for i in range(3):
        _, ann = make_annotator(project, f"a{i}")
        assignment_claim_next(project=project, annotator=ann)
    project.likert_quorum = 2
    project.save()
    tasks_sync(project=project)
    task = Task.objects.get()
    assert task.filled == 3 and task.quorum == 3
    _, late = make_annotator(project, "late")
    assert assignment_claim_next(project=project, annotator=late) is None


def test_the_database_refuses_counters_over_quorum():
    project = make_project(likert_quorum=1)
    add_items(project, prompts=1)
    tasks_sync(project=project)
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.update(active_count=2, filled=2)
