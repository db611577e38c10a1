"""Imports feed the task table: imported items are claimable at once, and imported judgments
count toward quorum like any other (DESIGN 3 and 4.4)."""

import io
import json
from datetime import timedelta
from uuid import uuid4

import pytest
from django.db.models import Sum
from django.utils import timezone

from annotation.models import DomainProgress, PairwiseJudgment, Response, Task
from annotation.services.assignments import assignment_claim_next, leases_expire_due
from annotation.services.imports import items_import, judgments_import
from annotation.services.judgments import judgment_submit
from annotation.services.tasks import tasks_sync_if_stale

from .builders import make_annotator, make_project, ratings_for

pytestmark = pytest.mark.django_db


def jsonl(*rows) -> io.BytesIO:
    return io.BytesIO("".join(json.dumps(r) + "\n" for r in rows).encode())


def items(*prompt_ids, responses: int = 1):
    return jsonl(
        *(
            {
                "prompt_id": pid,
                "prompt": f"Question {pid}?",
                "domain": "general",
                "responses": [
                    {"response_id": f"{pid}-r{j}", "text": f"Answer {pid} {j}."}
                    for j in range(responses)
                ],
            }
            for pid in prompt_ids
        )
    )


def likert_lines(project, response_id: str, raters: int) -> list[dict]:
    return [
        {
            "kind": "likert",
            "response_id": response_id,
            "annotator": f"ext{i}",
            "ratings": ratings_for(project, 4),
        }
        for i in range(raters)
    ]


def work_until_nothing_left(project, annotators) -> list[int]:
    """Every annotator claims and submits until nobody gets anything; the tasks leased."""
    leased = []
    progressing = True
    while progressing:
        progressing = False
        for ann in annotators:
            lease = assignment_claim_next(project=project, annotator=ann)
            if lease is None:
                continue
            progressing = True
            leased.append(lease.task_id)
            judgment_submit(
                project=project,
                annotator=ann,
                assignment_id=lease.pk,
                client_key=uuid4(),
                ratings=ratings_for(project),
                choice="tie",
            )
    return leased


def progress_matches_tasks(project) -> bool:
    tasks = Task.objects.filter(project=project).aggregate(
        done=Sum("done_count"), assigned=Sum("filled")
    )
    progress = DomainProgress.objects.filter(project=project).aggregate(
        done=Sum("done"), assigned=Sum("assigned")
    )
    return tasks == progress


def test_after_importing_items_an_annotator_can_claim_a_task_immediately():
    project = make_project(likert_quorum=1, pairwise_quorum=1)
    items_import(project=project, source=items("p1", "p2", responses=2), filename="a.jsonl")
    # Built by the import itself: the first claim finds nothing to sync.
    assert Task.objects.filter(project=project, kind="likert").count() == 4
    assert Task.objects.filter(project=project, kind="pairwise").count() == 2
    assert tasks_sync_if_stale(project=project) is False
    _, ann = make_annotator(project, "a")
    lease = assignment_claim_next(project=project, annotator=ann)
    assert lease is not None and lease.task.kind == "likert"
    assert DomainProgress.objects.get(project=project).tasks_total == 6


def test_a_second_items_import_makes_its_items_claimable_too():
    project = make_project(likert_quorum=1)
    items_import(project=project, source=items("p1"), filename="a.jsonl")
    _, ann = make_annotator(project, "a")
    first = assignment_claim_next(project=project, annotator=ann)
    judgment_submit(
        project=project,
        annotator=ann,
        assignment_id=first.pk,
        client_key=uuid4(),
        ratings=ratings_for(project),
    )
    assert assignment_claim_next(project=project, annotator=ann) is None
    items_import(project=project, source=items("p2"), filename="b.jsonl")
    lease = assignment_claim_next(project=project, annotator=ann)
    assert lease is not None and lease.task.response_a.external_id == "p2-r0"


def test_three_imported_judgments_on_a_quorum_3_response_mean_nobody_is_given_it():
    project = make_project(likert_quorum=3)
    items_import(project=project, source=items("p1", "p2", "p3"), filename="a.jsonl")
    judgments_import(project=project, source=jsonl(*likert_lines(project, "p2-r0", 3)))
    task = Task.objects.get(kind="likert", response_a__external_id="p2-r0")
    assert (task.done_count, task.active_count, task.filled, task.quorum) == (3, 0, 3, 3)
    assert progress_matches_tasks(project)
    assert DomainProgress.objects.get(project=project).tasks_complete == 1

    annotators = [make_annotator(project, f"a{i}")[1] for i in range(5)]
    leased = work_until_nothing_left(project, annotators)
    assert task.pk not in leased
    # The other two responses got exactly their quorum from the annotators.
    assert len(leased) == 2 * 3
    assert set(Task.objects.filter(kind="likert").values_list("done_count", flat=True)) == {3}


def test_imports_over_the_quorum_raise_the_task_quorum_and_the_task_is_never_leased():
    project = make_project(likert_quorum=2)
    items_import(project=project, source=items("p1", "p2"), filename="a.jsonl")
    judgments_import(project=project, source=jsonl(*likert_lines(project, "p1-r0", 3)))
    task = Task.objects.get(kind="likert", response_a__external_id="p1-r0")
    assert (task.done_count, task.filled, task.quorum) == (3, 3, 3)
    assert progress_matches_tasks(project)
    annotators = [make_annotator(project, f"a{i}")[1] for i in range(4)]
    leased = work_until_nothing_left(project, annotators)
    assert task.pk not in leased and len(leased) == 2
    assert DomainProgress.objects.get(project=project).tasks_complete == 2


def test_imports_on_a_task_with_a_live_lease_keep_the_lease_and_never_add_one():
    project = make_project(likert_quorum=2, lease_seconds=60)
    items_import(project=project, source=items("p1"), filename="a.jsonl")
    _, holder = make_annotator(project, "holder")
    lease = assignment_claim_next(project=project, annotator=holder)
    judgments_import(project=project, source=jsonl(*likert_lines(project, "p1-r0", 2)))
    task = Task.objects.get(pk=lease.task_id)
    assert (task.done_count, task.active_count, task.filled, task.quorum) == (2, 1, 3, 3)
    # The lease runs out: its slot is freed, but the imports already met the project quorum.
    leases_expire_due(project=project, now=timezone.now() + timedelta(seconds=61))
    _, other = make_annotator(project, "other")
    assert assignment_claim_next(project=project, annotator=other) is None
    assert progress_matches_tasks(project)


def test_reimporting_judgments_changes_nothing():
    project = make_project(likert_quorum=2)
    items_import(project=project, source=items("p1", "p2"), filename="a.jsonl")
    lines = likert_lines(project, "p1-r0", 3)
    judgments_import(project=project, source=jsonl(*lines))

    def state():
        return (
            list(Task.objects.order_by("id").values_list("done_count", "filled", "quorum")),
            list(DomainProgress.objects.values_list("done", "assigned", "tasks_complete")),
        )

    before = state()
    again = judgments_import(project=project, source=jsonl(*lines))
    assert again.batch is None and again.unchanged["likert"] == 3
    assert state() == before
    assert items_import(project=project, source=items("p1", "p2"), filename="a.jsonl").batch is None
    assert state() == before


def test_imported_likert_quorum_unlocks_the_prompts_pairs():
    project = make_project(likert_quorum=1, pairwise_quorum=1)
    items_import(project=project, source=items("p1", responses=2), filename="a.jsonl")
    pair = Task.objects.get(kind="pairwise")
    assert not pair.unlocked
    judgments_import(
        project=project,
        source=jsonl(*likert_lines(project, "p1-r0", 1), *likert_lines(project, "p1-r1", 1)),
    )
    pair.refresh_from_db()
    assert pair.unlocked
    _, ann = make_annotator(project, "a")
    assert assignment_claim_next(project=project, annotator=ann).task_id == pair.pk


def test_imported_pairwise_judgments_fill_the_pairs_task():
    project = make_project(likert_quorum=1, pairwise_quorum=2, pairwise_weight=1.0)
    items_import(project=project, source=items("p1", responses=2), filename="a.jsonl")
    lines = [
        {
            "kind": "pairwise",
            "prompt_id": "p1",
            "response_a": "p1-r1",
            "response_b": "p1-r0",
            "annotator": f"ext{i}",
            "choice": "a",
        }
        for i in range(2)
    ]
    judgments_import(project=project, source=jsonl(*lines))
    pair = Task.objects.get(kind="pairwise")
    assert (pair.done_count, pair.filled, pair.quorum) == (2, 2, 2)
    assert progress_matches_tasks(project)


def test_a_pair_outside_the_design_is_stored_but_gets_no_task():
    project = make_project(pairwise_quorum=1)
    items_import(project=project, source=items("p1", responses=6), filename="a.jsonl")
    ids = dict(Response.objects.values_list("external_id", "id"))
    designed = set(Task.objects.filter(kind="pairwise").values_list("response_a", "response_b"))
    assert len(designed) == 12  # each of 6 responses in 4 pairs
    outside = next(
        (a, b)
        for a in sorted(ids)
        for b in sorted(ids)
        if a < b and tuple(sorted((ids[a], ids[b]))) not in designed
    )
    line = {
        "kind": "pairwise",
        "prompt_id": "p1",
        "response_a": outside[0],
        "response_b": outside[1],
        "annotator": "ext",
        "choice": "tie",
    }
    judgments_import(project=project, source=jsonl(line))
    assert PairwiseJudgment.objects.count() == 1
    assert Task.objects.filter(kind="pairwise").count() == 12
    assert set(Task.objects.values_list("done_count", flat=True)) == {0}
    assert progress_matches_tasks(project)
