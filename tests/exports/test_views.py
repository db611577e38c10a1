import pytest

from exports.models import Release
from exports.services.build import release_build, release_request

from .factories import scored_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(project):
    return scored_project(project, n_prompts=9, annotators=3)


@pytest.fixture
def v1(export_dir, scored):
    return release_build(release=release_request(project=scored.project))


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("lead_user", 200), ("researcher_user", 200), ("annotator_user", 403), ("outsider_user", 404)],
)
def test_the_releases_page_and_panel_are_for_leads_and_researchers(
    client, request, persona, expected, v1
):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/releases/p/demo/").status_code == expected
    assert client.get("/releases/p/demo/panel/").status_code == expected


def test_anonymous_visitors_are_sent_to_log_in(client, v1):
    response = client.get("/releases/p/demo/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_page_lists_releases_with_download_links(client, researcher_user, v1):
    client.force_login(researcher_user)
    html = client.get("/releases/p/demo/").content.decode()
    assert "v1" in html and "/api/v1/projects/demo/releases/v1/files/preferences.parquet" in html
    assert "Build a release" not in html  # researchers cannot build


def test_the_panel_is_a_fragment_with_a_build_button_for_leads(client, lead_user, v1):
    client.force_login(lead_user)
    html = client.get("/releases/p/demo/panel/", HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html and 'id="releases-panel"' in html
    assert f"Release run {v1.run_id}" in html


def test_htmx_refresh_of_the_page_returns_only_the_table(client, lead_user, v1):
    client.force_login(lead_user)
    html = client.get("/releases/p/demo/", HTTP_HX_REQUEST="true").content.decode()
    assert html.lstrip().startswith('<div id="release-list"') and "<html" not in html
    assert "hx-trigger" not in html  # nothing is building: no polling


def test_the_list_polls_while_a_release_is_building(client, lead_user, scored):
    release_request(project=scored.project)
    client.force_login(lead_user)
    html = client.get("/releases/p/demo/").content.decode()
    assert 'hx-trigger="every 3s"' in html


def test_a_lead_requests_a_release_with_holdout_and_seed(
    client, lead_user, scored, export_dir, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("exports.tasks.release_build.delay", lambda *a: queued.append(a))
    client.force_login(lead_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/releases/p/demo/", {"run": scored.run.pk, "seed": "11", "holdout_domains": ["code"]}
        )
    assert response.status_code == 302
    release = Release.objects.get()
    assert (release.status, release.seed, release.holdout_domains) == ("pending", 11, ["code"])
    assert queued == [(release.pk,)]


def test_a_bad_request_shows_the_reason_and_creates_nothing(client, lead_user, scored):
    client.force_login(lead_user)
    response = client.post("/releases/p/demo/", {"holdout_domains": ["poetry"]}, follow=True)
    assert "no domain &#x27;poetry&#x27;" in response.content.decode()
    assert not Release.objects.exists()


def test_a_researcher_cannot_request_a_release(client, researcher_user, scored):
    client.force_login(researcher_user)
    assert client.post("/releases/p/demo/", {}).status_code == 403
    assert not Release.objects.exists()


@pytest.mark.parametrize("field", ["run", "seed"])
@pytest.mark.parametrize("value", ["٣", "３", "²", "1e3"])
def test_a_run_or_seed_that_is_not_ascii_digits_is_refused(client, lead_user, scored, field, value):
    client.force_login(lead_user)
    response = client.post("/releases/p/demo/", {field: value}, follow=True)
    assert response.status_code == 200
    assert "Seed and run must be whole numbers." in response.content.decode()
    assert not Release.objects.exists()
