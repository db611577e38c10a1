"""403, 404, 500, CSRF failure and lockout pages in the site's layout, with a way back."""

from __future__ import annotations

import pytest
from django.test import Client

from .builders import make_annotator, make_project

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def production(settings):
    settings.DEBUG = False


def assert_in_layout(response, status: int, heading: str):
    html = response.content.decode()
    assert response.status_code == status
    assert '<header class="topbar">' in html
    assert f"<h1>{heading}</h1>" in html
    assert "Go to your projects" in html
    assert 'href="/static/css/app.css"' in html
    return html


def test_an_anonymous_visitor_gets_a_404_page_with_home_and_login_links(client):
    html = assert_in_layout(client.get("/nowhere/"), 404, "Page not found")

    assert 'href="/accounts/login/?next=/nowhere/"' in html


def test_a_member_outside_the_project_gets_the_404_page_without_a_login_link(client):
    project = make_project(slug="p404")
    user, _ = make_annotator(make_project(slug="other"), "kim")
    client.force_login(user)

    html = assert_in_layout(client.get(f"/p/{project.slug}/lead/"), 404, "Page not found")

    assert "Log in</a>" not in html
    assert "kim" in html  # the usual top bar, with who is logged in


def test_an_annotator_on_the_lead_page_gets_the_403_page(client):
    project = make_project(slug="p403")
    user, _ = make_annotator(project, "kim")
    client.force_login(user)

    html = assert_in_layout(client.get(f"/p/{project.slug}/lead/"), 403, "You can't do that here")

    assert "ask the project's lead" in html


def test_a_form_posted_without_its_csrf_token_gets_the_expired_form_page():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/accounts/login/", {"username": "kim", "password": "x"})

    assert_in_layout(response, 403, "This form has expired")


@pytest.mark.urls("tests.annotation.error_urls")
def test_a_crash_gets_the_static_500_page():
    client = Client(raise_request_exception=False)

    response = client.get("/fail/")

    html = assert_in_layout(response, 500, "Something went wrong on our side")
    assert 'href="/"' in html
    assert "Content-Security-Policy" in response.headers
