"""Gold items (DESIGN 4.5): marking, mixing into the stream, never counted toward quorum,
shown at most once, invisible on the page, scored per annotator, imported with items."""

import io
import json
import re
from uuid import uuid4

import pytest
from scipy import stats

from annotation.errors import DomainError, ValidationProblems
from annotation.models import (
    Assignment,
    DomainProgress,
    GoldItem,
    LikertJudgment,
    PairwiseJudgment,
    Prompt,
    Response,
    Task,
)
from annotation.quality_selectors import gold_accuracy
from annotation.services.assignments import assignment_claim_next, assignment_skip
from annotation.services.imports.items import items_import
from annotation.services.judgments import judgment_submit
from annotation.services.quality import gold_mark

from .builders import add_items, make_annotator, make_project, ratings_for

pytestmark = pytest.mark.django_db


def _mark_likert(project, response, value=4, **extra):
    return gold_mark(
        project=project,
        response=response,
        expected_ratings=ratings_for(project, value),
        explanation="A careful answer: every criterion deserves a 4.",
        **extra,
    )


def _claim_and_submit(project, annotator, value=3, choice="left"):
    lease = assignment_claim_next(project=project, annotator=annotator)
    if lease is None:
        return None
    judgment_submit(
        project=project,
        annotator=annotator,
        assignment_id=lease.pk,
        client_key=uuid4(),
        ratings=ratings_for(project, value),
        choice=choice,
    )
    return lease


def _counters(project):
    tasks = list(
        Task.objects.filter(project=project)
        .order_by("id")
        .values_list("id", "done_count", "active_count", "filled")
    )
    progress = list(
        DomainProgress.objects.filter(project=project).values_list(
            "assigned", "done", "tasks_complete"
        )
    )
    return tasks, progress


def _task_row(task_id):
    return Task.objects.filter(pk=task_id).values_list("done_count", "active_count", "filled")[0]


def test_a_gold_answer_never_fills_or_closes_a_tasks_quorum():
    project = make_project(slug="g", likert_quorum=1, gold_rate=0.5)
    add_items(project, prompts=60, responses=1)
    (gold_prompt,) = add_items(project, prompts=1, start=100, prompt_text="Gold {i}")
    gold = _mark_likert(project, gold_prompt.responses.get())
    before = _task_row(gold.task_id)
    gold_leases = 0
    for k in range(3):
        _, annotator = make_annotator(project, f"ann{k}")
        for _ in range(15):  # at 50%, each sees the one gold item within 15 claims
            lease = _claim_and_submit(project, annotator)
            gold_leases += lease.gold
            assert lease.gold == (lease.task_id == gold.task_id)
    assert gold_leases == 3
    assert _task_row(gold.task_id) == before == (0, 0, 0)
    progress = DomainProgress.objects.get(project=project)
    assert (progress.done, progress.tasks_complete) == (42, 42)  # 45 submissions, 3 gold
    stored = LikertJudgment.objects.filter(response=gold.response_a)
    assert stored.count() == 3 and all(j.gold and not j.over_quorum for j in stored)


def test_the_normal_stream_never_leases_a_task_of_a_gold_prompt():
    project = make_project(slug="g", likert_quorum=3, gold_rate=0.0)
    prompts = add_items(project, prompts=3, responses=2)
    _mark_likert(project, prompts[0].responses.first())
    _, annotator = make_annotator(project, "ann")
    leased_prompts = set()
    while (lease := _claim_and_submit(project, annotator)) is not None:
        leased_prompts.add(lease.task.prompt_id)
    assert prompts[0].pk not in leased_prompts
    assert leased_prompts == {prompts[1].pk, prompts[2].pk}


def test_gold_is_shown_to_an_annotator_at_most_once():
    project = make_project(slug="g", likert_quorum=3, gold_rate=0.5)
    add_items(project, prompts=30, responses=1)
    (gold_prompt,) = add_items(project, prompts=1, start=100, prompt_text="Gold {i}")
    gold = _mark_likert(project, gold_prompt.responses.get())
    _, annotator = make_annotator(project, "ann")
    while _claim_and_submit(project, annotator) is not None:
        pass
    leases = Assignment.objects.filter(annotator=annotator)
    assert leases.filter(gold=True).count() == 1
    assert leases.filter(task_id=gold.task_id).count() == 1
    assert leases.count() == 31  # every normal task, and the gold one once


def test_gold_is_mixed_in_at_the_projects_rate():
    project = make_project(slug="g", likert_quorum=1, gold_rate=0.2)
    add_items(project, prompts=300, responses=1)
    gold_prompts = add_items(project, prompts=100, start=1000, prompt_text="Gold {i}")
    for prompt in gold_prompts:
        _mark_likert(project, prompt.responses.get())
    _, annotator = make_annotator(project, "ann")
    gold = 0
    for _ in range(200):
        gold += _claim_and_submit(project, annotator).gold
    # Seeded by (project seed, annotator, latest lease id): lease ids depend on what ran
    # before in the database, so the count is a Binomial(200, 0.2) draw, not a fixed
    # number. Its central 1 - 2e-6 interval is [16, 69]: no gold (rate 0) or half gold
    # lands far outside it; the right rate fails about twice in a million runs.
    low, high = stats.binom.ppf(1e-6, 200, 0.2), stats.binom.isf(1e-6, 200, 0.2)
    assert low <= gold <= high, (gold, low, high)
    first = gold
    assert first == Assignment.objects.filter(annotator=annotator, gold=True).count()


def test_claiming_and_skipping_a_gold_lease_moves_no_counter():
    project = make_project(slug="g", likert_quorum=1, gold_rate=0.5)
    add_items(project, prompts=30, responses=1)
    (gold_prompt,) = add_items(project, prompts=1, start=100, prompt_text="Gold {i}")
    gold = _mark_likert(project, gold_prompt.responses.get())
    _, annotator = make_annotator(project, "ann")
    for _ in range(30):
        before = _counters(project)
        lease = assignment_claim_next(project=project, annotator=annotator)
        if lease.gold:
            break
        judgment_submit(
            project=project,
            annotator=annotator,
            assignment_id=lease.pk,
            client_key=uuid4(),
            ratings=ratings_for(project),
        )
    assert lease.gold and lease.task_id == gold.task_id
    assert _counters(project) == before
    assignment_skip(project=project, annotator=annotator, assignment_id=lease.pk, reason="other")
    assert _counters(project) == before


def test_a_gold_pair_answer_is_stored_flagged_and_fills_no_slot():
    project = make_project(slug="g", likert_quorum=1, pairwise_quorum=1, gold_rate=0.5)
    add_items(project, prompts=20, responses=1)
    (prompt,) = add_items(project, prompts=1, responses=2, start=100, prompt_text="Gold {i}")
    a, b = prompt.responses.order_by("id")
    gold = gold_mark(
        project=project, response=b, response_b=a, expected_choice="a", explanation="B is right."
    )
    # Given as (b, a) with "a" = b wins: stored canonically as response_a=a, choice "b".
    assert (gold.response_a_id, gold.response_b_id, gold.expected_choice) == (a.pk, b.pk, "b")
    before = _task_row(gold.task_id)
    _, annotator = make_annotator(project, "ann")
    while _claim_and_submit(project, annotator, choice="tie") is not None:
        pass
    (answer,) = PairwiseJudgment.objects.filter(response_a=a, response_b=b)
    assert answer.gold and answer.annotator == annotator
    assert _task_row(gold.task_id) == before


def test_the_task_page_of_a_gold_task_looks_exactly_like_any_other(client):
    project = make_project(slug="g", likert_quorum=1, gold_rate=0.5)
    *_, gold_prompt = add_items(project, prompts=21, responses=1)
    _mark_likert(project, gold_prompt.responses.get())
    pages = {}
    for k in range(20):
        user, annotator = make_annotator(project, f"ann{k}")
        client.force_login(user)
        html = client.get(f"/p/{project.slug}/annotate/").content.decode()
        lease = Assignment.objects.filter(annotator=annotator).first()
        if lease is not None:
            pages.setdefault(lease.gold, html)
    assert set(pages) == {True, False}

    def normalized(html: str) -> str:
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", html)
        html = re.sub(r'"X-CSRFToken": "[^"]+"', "CSRF", html)
        html = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID", html)
        html = re.sub(r"ann\d+", "USER", html)
        return re.sub(r"\d+", "N", html)

    assert "gold" not in pages[True].lower()
    assert normalized(pages[True]) == normalized(pages[False])


def test_gold_accuracy_per_annotator_is_exact_on_a_constructed_case():
    project = make_project(slug="g", likert_quorum=3)
    likert_prompt, pair_prompt = add_items(project, prompts=2, responses=2)
    r1 = likert_prompt.responses.order_by("id").first()
    a, b = pair_prompt.responses.order_by("id")
    keys = list(project.criteria.order_by("position").values_list("key", flat=True))
    gold_mark(
        project=project,
        response=r1,
        expected_ratings=dict.fromkeys(keys, 4),
        tolerance=1,
        explanation="Good but not perfect.",
    )
    gold_mark(project=project, response=a, response_b=b, expected_choice="a", explanation="A.")
    _, careful = make_annotator(project, "careful")
    _, sloppy = make_annotator(project, "sloppy")
    _, silent = make_annotator(project, "silent")
    # careful: ratings 5,3,4,5 (all within 1) and picks a shown on the right -> 2 of 2.
    LikertJudgment.objects.create(
        response=r1,
        annotator=careful,
        gold=True,
        ratings=dict(zip(keys, [5, 3, 4, 5], strict=True)),
    )
    PairwiseJudgment.objects.create(
        prompt=pair_prompt,
        left=b,
        right=a,
        response_a=a,
        response_b=b,
        annotator=careful,
        choice="right",
        gold=True,
    )
    # sloppy: one criterion 2 away -> wrong; a tie -> wrong: 0 of 2.
    LikertJudgment.objects.create(
        response=r1, annotator=sloppy, gold=True, ratings=dict(zip(keys, [4, 4, 2, 4], strict=True))
    )
    PairwiseJudgment.objects.create(
        prompt=pair_prompt,
        left=a,
        right=b,
        response_a=a,
        response_b=b,
        annotator=sloppy,
        choice="tie",
        gold=True,
    )
    # A judgment not given as gold (before the item was marked) does not count.
    LikertJudgment.objects.create(response=r1, annotator=silent, ratings=dict.fromkeys(keys, 1))
    rows = {row.annotator: row for row in gold_accuracy(project=project)}
    assert set(rows) == {"careful", "sloppy"}
    assert (rows["careful"].n, rows["careful"].correct, rows["careful"].accuracy) == (2, 2, 1.0)
    assert (rows["sloppy"].n, rows["sloppy"].correct, rows["sloppy"].accuracy) == (2, 0, 0.0)


def test_gold_mark_refuses_bad_input_with_a_clear_message():
    project = make_project(slug="g")
    other = make_project(slug="other")
    (prompt,) = add_items(project, prompts=1, responses=2)
    (foreign,) = add_items(other, prompts=1, responses=1)
    r, r2 = prompt.responses.order_by("id")
    with pytest.raises(DomainError, match="explanation"):
        gold_mark(project=project, response=r, expected_ratings=ratings_for(project))
    with pytest.raises(DomainError, match="outside the scale"):
        _mark_likert(project, r, value=9)
    with pytest.raises(DomainError, match="a, b or tie"):
        gold_mark(project=project, response=r, response_b=r2, explanation="x")
    with pytest.raises(DomainError, match="another project"):
        _mark_likert(project, foreign.responses.get())
    assert not GoldItem.objects.exists()


def _items_file(lines) -> io.BytesIO:
    return io.BytesIO("\n".join(json.dumps(line) for line in lines).encode())


def _line(i, gold=None):
    line = {
        "prompt_id": f"p{i}",
        "prompt": f"Question {i}?",
        "domain": "general",
        "responses": [
            {"response_id": f"p{i}-a", "text": f"First answer {i}"},
            {"response_id": f"p{i}-b", "text": f"Second answer {i}"},
        ],
    }
    if gold is not None:
        line["gold"] = gold
    return line


def test_items_import_marks_gold_items_and_a_reimport_changes_nothing():
    project = make_project(slug="g")
    keys = list(project.criteria.values_list("key", flat=True))
    lines = [
        _line(0),
        _line(
            1,
            {
                "response_id": "p1-a",
                "ratings": dict.fromkeys(keys, 5),
                "tolerance": 0,
                "explanation": "Exactly right.",
            },
        ),
        _line(
            2,
            [{"response_id": "p2-b", "response_b": "p2-a", "choice": "a", "explanation": "B."}],
        ),
    ]
    items_import(project=project, source=_items_file(lines), filename="items.jsonl")
    likert = GoldItem.objects.get(kind="likert")
    assert likert.response_a.external_id == "p1-a" and likert.tolerance == 0
    assert likert.expected_ratings == dict.fromkeys(keys, 5)
    pair = GoldItem.objects.get(kind="pairwise")
    # "p2-b wins" stored in canonical order (p2-a was created first).
    assert pair.response_a.external_id == "p2-a" and pair.expected_choice == "b"
    again = items_import(project=project, source=_items_file(lines), filename="items.jsonl")
    assert again.batch is None and GoldItem.objects.count() == 2


def test_items_import_reports_bad_gold_fields_by_line_and_writes_nothing():
    project = make_project(slug="g")
    keys = list(project.criteria.values_list("key", flat=True))
    lines = [
        _line(0, {"response_id": "p0-a", "ratings": dict.fromkeys(keys, 4), "explanation": "ok"}),
        _line(1, {"response_id": "nope", "ratings": dict.fromkeys(keys, 4), "explanation": "x"}),
        _line(2, {"response_id": "p2-a", "ratings": {"usefulness": 9}, "explanation": "x"}),
        _line(
            3, {"response_id": "p3-a", "response_b": "p3-b", "choice": "left", "explanation": "x"}
        ),
        _line(4, {"response_id": "p4-a", "ratings": dict.fromkeys(keys, 4)}),
        _line(
            5,
            {
                "response_id": "p5-a",
                "ratings": dict.fromkeys(keys, 4),
                "tolerance": -1,
                "explanation": "x",
            },
        ),
    ]
    with pytest.raises(ValidationProblems) as caught:
        items_import(project=project, source=_items_file(lines), filename="items.jsonl")
    found = {(p.line, p.field) for p in caught.value.problems}
    assert found == {
        (2, "gold.response_id"),
        (3, "gold.ratings"),
        (4, "gold.choice"),
        (5, "gold.explanation"),
        (6, "gold.tolerance"),
    }
    messages = {p.line: p.message for p in caught.value.problems}
    assert "outside the scale" in messages[3] and "not rated" in messages[3]
    assert not Prompt.objects.exists() and not Response.objects.exists()
    assert not GoldItem.objects.exists()


def test_a_lead_marks_gold_through_the_lead_page(client):
    project = make_project(slug="g")
    (prompt,) = add_items(project, prompts=1, responses=1)
    response = prompt.responses.get()
    lead, _ = make_annotator(project, "lead", role="lead")
    client.force_login(lead)
    data = {f"rating-{k}": "4" for k in project.criteria.values_list("key", flat=True)}
    data.update(response=str(response.pk), explanation="Four on everything.")
    page = client.post(f"/p/{project.slug}/lead/gold/", data)
    assert page.status_code == 302
    assert GoldItem.objects.get().response_a == response
    bad = client.post(
        f"/p/{project.slug}/lead/gold/",
        {"response": str(response.pk)},
        HTTP_ACCEPT="application/json",
    )
    assert bad.status_code == 400 and "explanation" in bad.json()["detail"]


def test_a_lead_of_another_project_gets_404_and_an_annotator_403_when_marking_gold(client):
    project = make_project(slug="g")
    other = make_project(slug="other")
    (prompt,) = add_items(project, prompts=1, responses=1)
    data = {f"rating-{k}": "4" for k in project.criteria.values_list("key", flat=True)}
    data.update(response=str(prompt.responses.get().pk), explanation="x")
    other_lead, _ = make_annotator(other, "other-lead", role="lead")
    annotator, _ = make_annotator(project, "ann")
    client.force_login(other_lead)
    assert client.post(f"/p/{project.slug}/lead/gold/", data).status_code == 404
    # Nor through their own project with this project's response id.
    assert client.post(f"/p/{other.slug}/lead/gold/", data).status_code == 404
    client.force_login(annotator)
    assert client.post(f"/p/{project.slug}/lead/gold/", data).status_code == 403
    assert not GoldItem.objects.exists()


def test_a_non_staff_lead_marks_gold_in_the_admin_only_in_their_project(client):
    project = make_project(slug="g")
    other = make_project(slug="other")
    (prompt,) = add_items(project, prompts=1, responses=1)
    (foreign,) = add_items(other, prompts=1, responses=1)
    lead, _ = make_annotator(project, "lead", role="lead")
    client.force_login(lead)
    keys = list(project.criteria.values_list("key", flat=True))
    form = {
        "expected_ratings": json.dumps(dict.fromkeys(keys, 3)),
        "tolerance": "1",
        "expected_choice": "",
        "explanation": "Middling.",
    }
    foreign_page = client.post(
        "/admin/annotation/golditem/add/", {**form, "response_a": foreign.responses.get().pk}
    )
    assert foreign_page.status_code == 200 and not GoldItem.objects.exists()
    page = client.post(
        "/admin/annotation/golditem/add/", {**form, "response_a": prompt.responses.get().pk}
    )
    assert page.status_code == 302, page.content.decode()[:2000]
    gold = GoldItem.objects.get()
    assert gold.project == project and gold.created_by == lead
    bad = client.post(
        "/admin/annotation/golditem/add/",
        {**form, "expected_ratings": "{}", "response_a": prompt.responses.get().pk},
    )
    assert bad.status_code == 200 and "expected rating" in bad.content.decode()


def test_project_apply_refuses_a_gold_rate_above_one_half():
    from annotation.services.projects import project_apply

    with pytest.raises(ValidationProblems) as caught:
        project_apply(definition={"slug": "x", "name": "X", "gold_rate": 0.7})
    (problem,) = [p for p in caught.value.problems if p.field == "gold_rate"]
    assert "0.5" in problem.message
    project, _ = project_apply(definition={"slug": "x", "name": "X", "gold_rate": 0.1})
    assert project.gold_rate == 0.1
