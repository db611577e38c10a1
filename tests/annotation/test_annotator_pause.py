"""Pausing and resuming an annotator (DESIGN 4.5): no new lease at once, work in flight is
still taken, resume gives tasks again; only the project's lead may do it."""

from uuid import uuid4

import pytest

from annotation.models import Assignment, LikertJudgment, Membership
from annotation.services.assignments import AnnotatorPaused, assignment_claim_next
from annotation.services.quality import annotator_pause, annotator_resume

from .builders import add_items, make_annotator, make_project, ratings_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    project = make_project(slug="s", likert_quorum=2, gold_rate=0.0)
    add_items(project, prompts=5, responses=1)
    user, annotator = make_annotator(project, "ann")
    lead, _ = make_annotator(project, "lead", role="lead")
    return project, user, annotator, lead


def form(project):
    data = {f"rating-{k}": "3" for k in project.criteria.values_list("key", flat=True)}
    data["client_key"] = str(uuid4())
    return data


def test_a_paused_annotator_gets_no_new_lease_and_a_resumed_one_does(setup):
    project, _, annotator, _ = setup
    annotator_pause(project=project, annotator=annotator)
    with pytest.raises(AnnotatorPaused, match="paused by the project lead"):
        assignment_claim_next(project=project, annotator=annotator)
    assert not Assignment.objects.filter(annotator=annotator).exists()
    annotator_resume(project=project, annotator=annotator)
    assert assignment_claim_next(project=project, annotator=annotator) is not None


def test_pausing_keeps_the_task_in_flight_and_takes_its_judgment(client, setup):
    project, user, annotator, lead = setup
    client.force_login(user)
    client.get(f"/p/{project.slug}/annotate/")
    lease = Assignment.objects.get(annotator=annotator)
    client.force_login(lead)
    client.post(f"/p/{project.slug}/lead/annotators/{annotator.pk}/pause/")
    client.force_login(user)
    page = client.post(
        f"/p/{project.slug}/leases/{lease.pk}/submit/", form(project), HTTP_HX_REQUEST="true"
    )
    # Saved (human work is never thrown away), and no next task: the page says why.
    assert page.status_code == 200 and page["X-Judgment-Created"] == "1"
    assert LikertJudgment.objects.filter(annotator=annotator).count() == 1
    html = page.content.decode()
    assert "Paused by the project lead" in html and "data-paused" in html
    assert Assignment.objects.filter(annotator=annotator).count() == 1
    again = client.get(f"/p/{project.slug}/annotate/")
    assert "Paused by the project lead" in again.content.decode()
    assert Assignment.objects.filter(annotator=annotator).count() == 1


def test_the_lead_pauses_and_resumes_from_the_lead_page(client, setup):
    project, user, annotator, lead = setup
    client.force_login(lead)
    url = f"/p/{project.slug}/lead/annotators/{annotator.pk}"
    assert client.post(f"{url}/pause/").status_code == 302
    assert Membership.objects.get(user=user).paused_at is not None
    client.force_login(user)
    assert (
        "Paused by the project lead" in client.get(f"/p/{project.slug}/annotate/").content.decode()
    )
    client.force_login(lead)
    assert client.post(f"{url}/resume/").status_code == 302
    assert Membership.objects.get(user=user).paused_at is None
    client.force_login(user)
    page = client.get(f"/p/{project.slug}/annotate/").content.decode()
    assert "Paused by the project lead" not in page
    assert Assignment.objects.filter(annotator=annotator, state="active").count() == 1


def test_a_lead_of_another_project_gets_404_and_an_annotator_403_when_pausing(client, setup):
    project, user, annotator, _ = setup
    other = make_project(slug="other")
    other_lead, _ = make_annotator(other, "other-lead", role="lead")
    _, stranger = make_annotator(other, "stranger")
    url = f"/p/{project.slug}/lead/annotators/{annotator.pk}/pause/"
    client.force_login(other_lead)
    assert client.post(url).status_code == 404
    # Their own project, with an annotator who is not in it: 404 too.
    own = f"/p/{other.slug}/lead/annotators/{annotator.pk}/pause/"
    assert client.post(own).status_code == 404
    client.force_login(user)
    assert client.post(url).status_code == 403
    lead_of_project = make_annotator(project, "lead2", role="lead")[0]
    client.force_login(lead_of_project)
    stranger_url = f"/p/{project.slug}/lead/annotators/{stranger.pk}/pause/"
    assert client.post(stranger_url).status_code == 404
    assert not Membership.objects.filter(paused_at__isnull=False).exists()


def test_a_non_staff_lead_pauses_members_with_the_admin_action(client, setup):
    project, user, annotator, lead = setup
    membership = Membership.objects.get(user=user)
    client.force_login(lead)
    page = client.post(
        "/admin/annotation/membership/",
        {"action": "pause_members", "_selected_action": [membership.pk]},
    )
    assert page.status_code == 302
    membership.refresh_from_db()
    assert membership.paused_at is not None
    with pytest.raises(AnnotatorPaused):
        assignment_claim_next(project=project, annotator=annotator)
    client.post(
        "/admin/annotation/membership/",
        {"action": "resume_members", "_selected_action": [membership.pk]},
    )
    membership.refresh_from_db()
    assert membership.paused_at is None


def test_the_json_interface_still_accepts_a_paused_annotators_lease(client, setup):
    project, user, annotator, _ = setup
    lease = assignment_claim_next(project=project, annotator=annotator)
    annotator_pause(project=project, annotator=annotator)
    client.force_login(user)
    page = client.post(
        f"/p/{project.slug}/leases/{lease.pk}/submit/",
        {**form(project), **{f"rating-{k}": v for k, v in ratings_for(project, 4).items()}},
        HTTP_ACCEPT="application/json",
    )
    assert page.status_code == 201


def test_the_lead_pages_annotator_panel_lists_annotators_with_pause_and_exclude_buttons(
    client, setup
):
    project, user, annotator, lead = setup
    client.force_login(lead)
    page = client.get(f"/scoring/p/{project.slug}/annotators/").content.decode()
    row = page.split(f'data-annotator="{annotator.pk}"')[1].split("</tr>")[0]
    assert f"/lead/annotators/{annotator.pk}/pause/" in row and ">Pause<" in row
    assert f"/lead/annotators/{annotator.pk}/exclude/" in row
    annotator_pause(project=project, annotator=annotator)
    page = client.get(f"/scoring/p/{project.slug}/annotators/").content.decode()
    row = page.split(f'data-annotator="{annotator.pk}"')[1].split("</tr>")[0]
    assert ">paused<" in row and f"/lead/annotators/{annotator.pk}/resume/" in row
