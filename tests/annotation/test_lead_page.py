from uuid import uuid4

import pytest

from annotation.services.assignments import assignment_claim_next
from annotation.services.judgments import judgment_submit_likert

from .builders import add_items, make_annotator, make_project, ratings_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy():
    project = make_project(slug="lp", likert_quorum=1, domains=(("code", 0.6), ("chat", 0.4)))
    add_items(project, prompts=3, domain="code")
    add_items(project, prompts=2, domain="chat")
    _, alice = make_annotator(project, "alice")
    _, bob = make_annotator(project, "bob")
    for _ in range(2):
        lease = assignment_claim_next(project=project, annotator=alice)
        judgment_submit_likert(
            project=project,
            annotator=alice,
            assignment_id=lease.pk,
            client_key=uuid4(),
            ratings=ratings_for(project),
        )
    assignment_claim_next(project=project, annotator=bob)  # an open lease
    lead, _ = make_annotator(project, "lead", role="lead")
    return project, lead


def test_the_lead_sees_completion_by_domain_against_targets_people_leases_and_pace(client, busy):
    project, lead = busy
    client.force_login(lead)
    response = client.get("/p/lp/lead/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<tr data-domain="code">' in html and '<tr data-domain="chat">' in html
    code_row = html.split('<tr data-domain="code">')[1].split("</tr>")[0]
    assert ">60.0%<" in code_row  # the target
    assert "/ 3</td>" in code_row  # tasks at quorum out of 3
    assert "alice" in html.split('data-section="annotators"')[1].split("</section>")[0]
    leases = html.split('data-section="leases"')[1].split("</section>")[0]
    assert "bob" in leases and "data-open-leases>1<" in leases
    # Judgments per day is a chart panel loaded by HTMX (tests/scoring/test_dashboard_panels.py).
    assert 'hx-get="/scoring/p/lp/dashboard/per-day/"' in html


def test_the_lead_page_has_the_scoring_and_release_slots_with_plain_links(client, busy):
    project, lead = busy
    client.force_login(lead)
    html = client.get("/p/lp/lead/").content.decode()
    assert '<div hx-get="/scoring/p/lp/panel/" hx-trigger="load"' in html
    assert 'href="/scoring/p/lp/"' in html
    assert '<div hx-get="/releases/p/lp/panel/" hx-trigger="load"' in html
    assert 'href="/releases/p/lp/"' in html
    assert 'href="/p/lp/imports/"' in html and 'href="/admin/"' in html


def test_annotators_get_403_outsiders_404_and_staff_get_in(client, busy, django_user_model):
    project, _ = busy
    annotator, _ = make_annotator(project, "plain")
    client.force_login(annotator)
    assert client.get("/p/lp/lead/").status_code == 403
    outsider = django_user_model.objects.create_user(username="nobody")
    client.force_login(outsider)
    assert client.get("/p/lp/lead/").status_code == 404
    staff = django_user_model.objects.create_user(username="staff", is_staff=True)
    client.force_login(staff)
    assert client.get("/p/lp/lead/").status_code == 200


def test_the_home_page_links_leads_to_the_project_overview(client, busy):
    _, lead = busy
    client.force_login(lead)
    assert 'href="/p/lp/lead/"' in client.get("/").content.decode()


def test_active_annotators_name_a_rater_known_only_by_an_external_id(busy):
    from annotation.models import Annotator, LikertJudgment
    from annotation.selectors import judgment_totals

    project, _ = busy
    rater = Annotator.objects.create(project=project, external_id="rater-7")
    moved = LikertJudgment.objects.filter(response__project=project).first()
    LikertJudgment.objects.filter(pk=moved.pk).update(annotator=rater)
    active = dict(map(tuple, judgment_totals(project=project)["active"]))
    assert active == {"alice": 1, "rater-7": 1}
