"""The lead's aggregation panel and page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scoring.services import aggregation_run_create

from .factories import prompt_with_responses, rate, raters, vote

pytestmark = pytest.mark.django_db


@pytest.fixture
def with_run(project):
    _, (a, b) = prompt_with_responses(project, 2)
    r1, r2 = raters(project, 2)
    rate(a, r1, usefulness=1, factuality=2, safety=5, alignment=3)
    rate(a, r2, usefulness=5, factuality=2, safety=5, alignment=3)
    vote(a, b, r1)
    vote(b, a, r2)
    return aggregation_run_create(project=project, trigger="command")


def test_outsider_gets_404(client, outsider_user, with_run):
    client.force_login(outsider_user)
    assert client.get(reverse("scoring:project_panel", args=["demo"])).status_code == 404
    assert client.get(reverse("scoring:project_runs", args=["demo"])).status_code == 404


def test_annotator_gets_403(client, annotator_user, with_run):
    client.force_login(annotator_user)
    assert client.get(reverse("scoring:project_runs", args=["demo"])).status_code == 403


def test_anonymous_is_sent_to_login(client, project):
    response = client.get(reverse("scoring:project_panel", args=["demo"]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_researcher_sees_alpha_disputes_and_annotators_but_no_run_button(
    client, researcher_user, with_run
):
    client.force_login(researcher_user)
    response = client.get("/scoring/p/demo/panel/", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html  # a fragment
    assert 'id="aggregation-panel"' in html and "usefulness" in html
    # Disputes are counted here; the queue (people's ratings) is for leads.
    assert 'data-disputes="2"' in html and "(1 Likert, 1 pairwise)" in html
    assert "/lead/disputes/" not in html
    assert "leave-one-out consensus" in html
    assert "Run aggregation now" not in html


def test_the_full_page_extends_base_and_lists_runs(client, lead_user, with_run):
    client.force_login(lead_user)
    html = client.get("/scoring/p/demo/").content.decode()
    assert "<html" in html and "Recent runs" in html and f"<td>{with_run.pk}</td>" in html
    assert "Run aggregation now" in html and "csrfmiddlewaretoken" in html


def test_a_page_without_runs_says_so(client, lead_user):
    client.force_login(lead_user)
    assert "No aggregation run yet." in client.get("/scoring/p/demo/panel/").content.decode()


def test_lead_triggers_a_run_on_commit(
    client, lead_user, project, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr("scoring.tasks.aggregation_run.delay", lambda *args: sent.append(args))
    client.force_login(lead_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("scoring:project_run_trigger", args=["demo"]))
    assert response.status_code == 302
    assert sent == [(project.pk, "page")]


def test_researcher_may_not_trigger_a_run(client, researcher_user, project):
    client.force_login(researcher_user)
    assert client.post(reverse("scoring:project_run_trigger", args=["demo"])).status_code == 403


def test_trigger_needs_post(client, lead_user, project):
    client.force_login(lead_user)
    assert client.get(reverse("scoring:project_run_trigger", args=["demo"])).status_code == 405
