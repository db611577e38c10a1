"""The dispute queue (DESIGN 4.5): runs fill it, the lead adjudicates (the next run takes the
item from the adjudication, recorded as such), asks for more judgments (that task's quorum
and no other's rises, and another annotator's claim gets it), or dismisses; leads only."""

from __future__ import annotations

import re
from uuid import uuid4

import pytest
from django.test import Client

from annotation.models import Adjudication, Dispute, DomainProgress, Membership, Task
from annotation.services.assignments import assignment_claim_next
from annotation.services.disputes import dispute_ask_more, dispute_dismiss
from annotation.services.judgments import judgment_submit
from annotation.services.tasks import tasks_sync
from scoring.models import ResponseScore
from scoring.services import aggregation_run_create
from tests.scoring.factories import prompt_with_responses, rate, raters, vote

from .builders import add_items, make_annotator, make_project

pytestmark = pytest.mark.django_db

KEYS = ("usefulness", "factuality", "safety", "alignment")


def _run(project):
    return aggregation_run_create(project=project, trigger="command", n_resamples=0)


def _all(value: int) -> dict[str, int]:
    return dict.fromkeys(KEYS, value)


@pytest.fixture
def disputed(project):
    """One response rated 1, 3 and 5 (disputed), one rated 4, 4, 4, and a pair of them with
    one vote each way and a tie (no majority); quorums 3."""
    project.likert_quorum = 3
    project.pairwise_quorum = 3
    project.save(update_fields=["likert_quorum", "pairwise_quorum"])
    _, (split, agreed) = prompt_with_responses(project, 2)
    people = raters(project, 3)
    for value, person in zip((1, 3, 5), people, strict=True):
        rate(split, person, **_all(value))
        rate(agreed, person, **_all(4))
    vote(split, agreed, people[0])
    vote(agreed, split, people[1])
    vote(split, agreed, people[2], tie=True)
    _run(project)
    return split, agreed


def _final(run, response):
    return ResponseScore.objects.get(run=run, response=response)


def test_a_run_opens_one_dispute_per_flagged_item_and_a_rerun_adds_none(project, disputed):
    split, agreed = disputed
    rows = set(Dispute.objects.values_list("kind", "response_a_id", "response_b_id", "status"))
    a, b = sorted([split.pk, agreed.pk])
    assert rows == {("likert", split.pk, None, "open"), ("pairwise", a, b, "open")}
    _run(project)
    assert Dispute.objects.count() == 2


def test_adjudicating_ratings_decides_the_response_in_the_next_run_and_is_recorded(
    client, project, disputed, lead_user
):
    split, _ = disputed
    dispute = Dispute.objects.get(kind="likert")
    client.force_login(lead_user)
    url = f"/p/{project.slug}/lead/disputes/{dispute.pk}/adjudicate/"
    form = {f"rating-{k}": "5" for k in KEYS} | {"note": "Clearly excellent."}
    assert client.post(url, form).status_code == 302
    adjudication = Adjudication.objects.get(dispute=dispute)
    assert (adjudication.ratings, adjudication.by, adjudication.note) == (
        _all(5),
        lead_user,
        "Clearly excellent.",
    )
    dispute.refresh_from_db()
    assert (dispute.status, dispute.decided_by) == ("adjudicated", lead_user)
    assert dispute.decided_at is not None
    run = _run(project)
    score = _final(run, split)
    assert score.criterion_means == dict.fromkeys(KEYS, 1.0)
    assert score.criterion_score == pytest.approx(1.0)
    assert "adjudicated" in score.flags
    assert run.counts["responses_adjudicated"] == 1
    assert run.config["adjudications"] == {"likert": 1, "pairwise": 0}
    # Decided: no longer among the run's disputes, and the queue keeps the decision.
    assert not [d for d in run.disputes if d["kind"] == "likert"]
    assert Dispute.objects.get(pk=dispute.pk).status == "adjudicated"


def test_an_adjudicated_pair_choice_overrides_the_votes(client, project, disputed, lead_user):
    split, agreed = disputed
    dispute = Dispute.objects.get(kind="pairwise")
    before = _run(project)
    assert _final(before, split).borda == pytest.approx(0.5)
    winner = "a" if agreed.pk < split.pk else "b"  # canonical: the lower id is a
    client.force_login(lead_user)
    url = f"/p/{project.slug}/lead/disputes/{dispute.pk}/adjudicate/"
    assert client.post(url, {"choice": winner}).status_code == 302
    run = _run(project)
    assert _final(run, agreed).borda == pytest.approx(1.0)
    assert _final(run, split).borda == pytest.approx(0.0)
    assert run.counts["pairs_adjudicated"] == 1
    assert run.counts["disputes_pairwise"] == 0
    # The humans' own votes still make the agreement figures.
    assert run.agreement["pairwise"] == before.agreement["pairwise"]


def test_a_bad_adjudication_says_what_to_fix_and_records_nothing(
    client, project, disputed, lead_user
):
    dispute = Dispute.objects.get(kind="likert")
    client.force_login(lead_user)
    url = f"/p/{project.slug}/lead/disputes/{dispute.pk}/adjudicate/"
    page = client.post(url, {"rating-usefulness": "9"}, follow=True)
    assert "outside the scale 1-5" in page.content.decode()
    pair = Dispute.objects.get(kind="pairwise")
    page = client.post(
        f"/p/{project.slug}/lead/disputes/{pair.pk}/adjudicate/", {"choice": "left"}, follow=True
    )
    assert "choose the winner of the pair: a, b or tie" in page.content.decode()
    assert not Adjudication.objects.exists()
    assert set(Dispute.objects.values_list("status", flat=True)) == {"open"}


def _judge(project, annotator, value):
    """Claim the next task and rate it: ``value`` is a number, or a function of the task's
    response id (claims come in a seeded random order)."""
    lease = assignment_claim_next(project=project, annotator=annotator)
    points = value(lease.task.response_a_id) if callable(value) else value
    judgment_submit(
        project=project,
        annotator=annotator,
        assignment_id=lease.pk,
        client_key=uuid4(),
        ratings=_all(points),
    )
    return lease


def test_asking_for_more_reopens_exactly_that_task_for_another_annotator():
    project = make_project(slug="more", likert_quorum=2, gold_rate=0.0)
    add_items(project, prompts=3, responses=1)
    target = project.responses.order_by("id").first().pk
    first, second, third, fourth = (make_annotator(project, f"a{i}")[1] for i in range(4))
    for annotator, extreme in ((first, 1), (second, 5)):
        for _ in range(3):
            _judge(project, annotator, lambda rid, extreme=extreme: extreme if rid == target else 3)
    _run(project)
    dispute = Dispute.objects.get()
    assert dispute.response_a_id == target
    assert assignment_claim_next(project=project, annotator=third) is None
    quorums = dict(Task.objects.values_list("pk", "quorum"))
    complete = DomainProgress.objects.get(project=project).tasks_complete
    dispute_ask_more(dispute=dispute, n=1)
    lease = assignment_claim_next(project=project, annotator=third)
    assert lease is not None and lease.task_id == dispute.task_id
    assert Task.objects.get(pk=dispute.task_id).quorum == quorums[dispute.task_id] + 1
    assert {pk: q for pk, q in Task.objects.values_list("pk", "quorum") if pk != lease.task_id} == {
        pk: q for pk, q in quorums.items() if pk != lease.task_id
    }
    assert DomainProgress.objects.get(project=project).tasks_complete == complete - 1
    # Only one more was asked for: a fourth annotator gets nothing.
    assert assignment_claim_next(project=project, annotator=fourth) is None
    # A later sync (new items) keeps the raise.
    add_items(project, prompts=1, responses=1, start=10)
    tasks_sync(project=project)
    assert Task.objects.get(pk=dispute.task_id).quorum == quorums[dispute.task_id] + 1
    dispute.refresh_from_db()
    assert (dispute.status, dispute.more_asked) == ("more", 1)


def test_more_judgments_that_still_disagree_reopen_the_dispute():
    project = make_project(slug="again", likert_quorum=2, gold_rate=0.0)
    add_items(project, prompts=1, responses=1)
    people = [make_annotator(project, f"a{i}")[1] for i in range(3)]
    _judge(project, people[0], 1)
    _judge(project, people[1], 5)
    _run(project)
    dispute = Dispute.objects.get()
    dispute_ask_more(dispute=dispute, n=1)
    _run(project)  # the task is not full yet: still waiting
    assert Dispute.objects.get().status == "more"
    _judge(project, people[2], 3)
    _run(project)
    assert Dispute.objects.get().status == "open"


def test_dismissing_hides_it_from_open_and_a_later_run_keeps_it_dismissed(
    client, project, disputed, lead_user
):
    dispute = Dispute.objects.get(kind="likert")
    dispute_dismiss(dispute=dispute, note="Both readings are fair.", by=lead_user)
    _run(project)
    client.force_login(lead_user)
    page = client.get(f"/p/{project.slug}/lead/disputes/").content.decode()
    assert f'data-dispute="{dispute.pk}"' not in page
    decided = client.get(f"/p/{project.slug}/lead/disputes/?show=decided").content.decode()
    assert f'data-dispute="{dispute.pk}"' in decided and "lead, " in decided
    assert Dispute.objects.get(pk=dispute.pk).status == "dismissed"


def test_personas_outsiders_and_other_leads_get_404_other_roles_403(
    client, project, disputed, lead_user, annotator_user, researcher_user, outsider_user
):
    from annotation.services.projects import project_create

    dispute = Dispute.objects.get(kind="likert")
    other = project_create(slug="other", name="Other", domains=[{"name": "general"}])
    other_lead = lead_user.__class__.objects.create_user(username="other-lead")
    Membership.objects.create(user=other_lead, project=other, role="lead")
    base = f"/p/{project.slug}/lead/disputes/"
    urls = [base, f"{base}{dispute.pk}/"]
    post = f"{base}{dispute.pk}/dismiss/"
    for user, status in (
        (other_lead, 404),
        (outsider_user, 404),
        (annotator_user, 403),
        (researcher_user, 403),
    ):
        client.force_login(user)
        assert [client.get(u).status_code for u in urls] == [status, status], user
        assert client.post(post).status_code == status, user
    client.force_login(other_lead)
    assert client.get(f"/p/other/lead/disputes/{dispute.pk}/").status_code == 404
    assert Dispute.objects.get(pk=dispute.pk).status == "open"
    client.force_login(lead_user)
    assert [client.get(u).status_code for u in urls] == [200, 200]


def test_the_dispute_page_shows_the_texts_and_every_rating_side_by_side(
    client, project, disputed, lead_user
):
    split, agreed = disputed
    client.force_login(lead_user)
    likert = Dispute.objects.get(kind="likert")
    html = client.get(f"/p/{project.slug}/lead/disputes/{likert.pk}/").content.decode()
    assert split.text in html and split.prompt.text in html
    # Three annotators' columns; usefulness spans 4 points and reads 1, 3, 5.
    assert html.count('<th scope="col" class="num">rater') == 3
    assert re.search(
        r"spans 4</span></th>\s*<td class=\"num\">1</td><td class=\"num\">3</td>", html
    )
    assert f'action="/p/{project.slug}/lead/gold/"' in html
    pair = Dispute.objects.get(kind="pairwise")
    html = client.get(f"/p/{project.slug}/lead/disputes/{pair.pk}/").content.decode()
    assert split.text in html and agreed.text in html
    assert "(1 a, 1 b, 1 tie)" in html


def test_the_queue_paginates_and_htmx_gets_the_fragment(client, project, lead_user):
    project.likert_quorum = 2
    project.save(update_fields=["likert_quorum"])
    people = raters(project, 2)
    for _ in range(25):
        _, (response,) = prompt_with_responses(project, 1)
        rate(response, people[0], **_all(1))
        rate(response, people[1], **_all(5))
    _run(project)
    client.force_login(lead_user)
    url = f"/p/{project.slug}/lead/disputes/"
    first = client.get(url).content.decode()
    assert len(re.findall(r'data-dispute="', first)) == 20
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = client.get(url + "?page=2", HTTP_HX_REQUEST="true").content.decode()
    assert len(re.findall(r'data-dispute="', second)) == 5
    assert "<html" not in second and 'id="dispute-queue"' in second
    # The lead page's panel: five a page, and its pages stay panels.
    panel = client.get(url + "?panel=1", HTTP_HX_REQUEST="true").content.decode()
    assert len(re.findall(r'data-dispute="', panel)) == 5
    assert "Page 1 of 5" in panel and "page=2&amp;panel=1" in panel
    lead_page = client.get(f"/p/{project.slug}/lead/").content.decode()
    assert f'hx-get="{url}?panel=1"' in lead_page


def test_queue_and_dispute_queries_do_not_grow_with_annotators_or_prompts(
    client, project, lead_user, django_assert_max_num_queries
):
    project.likert_quorum = 2
    project.save(update_fields=["likert_quorum"])
    client.force_login(lead_user)

    def grow(n_people, n_prompts):
        people = raters(project, n_people)
        for _ in range(n_prompts):
            _, (response,) = prompt_with_responses(project, 1)
            for k, person in enumerate(people):
                rate(response, person, **_all(1 if k % 2 else 5))
        _run(project)

    def count(url):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    grow(2, 3)
    dispute = Dispute.objects.order_by("id").first()
    base = f"/p/{project.slug}/lead/disputes/"
    small = (count(base), count(f"{base}{dispute.pk}/"))
    grow(12, 30)
    latest = Dispute.objects.order_by("id").last()
    assert Dispute.objects.count() > 30
    with django_assert_max_num_queries(small[0]):
        client.get(base)
    with django_assert_max_num_queries(small[1]):
        client.get(f"{base}{latest.pk}/")


def test_an_action_post_needs_the_csrf_token(project, disputed, lead_user):
    dispute = Dispute.objects.get(kind="likert")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(lead_user)
    url = f"/p/{project.slug}/lead/disputes/{dispute.pk}/dismiss/"
    assert browser.post(url).status_code == 403
    assert Dispute.objects.get(pk=dispute.pk).status == "open"
    page = browser.get(f"/p/{project.slug}/lead/disputes/{dispute.pk}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    assert browser.post(url, {"csrfmiddlewaretoken": token}).status_code == 302
    assert Dispute.objects.get(pk=dispute.pk).status == "dismissed"


def test_the_agreement_panel_counts_disputes_and_links_to_the_queue(
    client, project, disputed, lead_user
):
    client.force_login(lead_user)
    html = client.get(f"/scoring/p/{project.slug}/panel/").content.decode()
    assert f'href="/p/{project.slug}/lead/disputes/"' in html
    assert 'class="dispute"' not in html


def test_the_adaptive_boost_adds_annotators_to_a_task_whose_first_quorum_disagrees():
    project = make_project(slug="boost", likert_quorum=2, gold_rate=0.0, dispute_boost=2)
    add_items(project, prompts=3, responses=1)
    target = project.responses.order_by("id").first().pk
    people = [make_annotator(project, f"a{i}")[1] for i in range(5)]
    for annotator, extreme in ((people[0], 1), (people[1], 5)):
        for _ in range(3):
            _judge(project, annotator, lambda rid, extreme=extreme: extreme if rid == target else 3)
    quorums = dict(Task.objects.values_list("pk", "quorum"))
    _run(project)
    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.more_asked, dispute.decided_by) == ("more", 2, None)
    assert "Adaptive boost" in dispute.note
    assert Task.objects.get(pk=dispute.task_id).quorum == quorums[dispute.task_id] + 2
    # Two more annotators get exactly that task; a third gets nothing; a rerun adds none.
    assert [assignment_claim_next(project=project, annotator=p).task_id for p in people[2:4]] == [
        dispute.task_id
    ] * 2
    assert assignment_claim_next(project=project, annotator=people[4]) is None
    _run(project)
    assert Task.objects.get(pk=dispute.task_id).quorum == quorums[dispute.task_id] + 2
    others = {pk: q for pk, q in Task.objects.values_list("pk", "quorum") if pk != dispute.task_id}
    assert others == {pk: q for pk, q in quorums.items() if pk != dispute.task_id}
