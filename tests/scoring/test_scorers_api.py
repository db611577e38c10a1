"""The scorer and scoring-run endpoints (DESIGN 6.5), with the persona matrix."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from annotation.services.projects import project_create
from scoring.models import Scorer, ScorerScore, ScoringRun
from scoring.scoring_runs import scoring_run_chunk, scoring_run_start

from .tiny_rms import project_with_responses

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def scored(project):
    """The `demo` project with responses, a shared metric, its own metric, another project's
    metric, and one finished run."""
    from annotation.models import Prompt, Response

    domain = project.domains.get()
    prompt = Prompt.objects.create(
        project=project, domain=domain, text="Q?", external_id="q", content_hash="q"
    )
    for i, text in enumerate(["short", "a longer answer", "# heading\n- item"]):
        Response.objects.create(
            project=project, prompt=prompt, text=text, external_id=f"r{i}", content_hash=f"r{i}"
        )
    chars = Scorer.objects.create(
        name="chars", kind="metric", backend="builtin", metric="length_chars"
    )
    Scorer.objects.create(
        name="words", kind="metric", backend="builtin", metric="length_words", project=project
    )
    other, _ = project_with_responses("elsewhere")
    Scorer.objects.create(
        name="theirs", kind="metric", backend="builtin", metric="length_words", project=other
    )
    run, _ = scoring_run_start(project=project, scorer=chars)
    scoring_run_chunk(run_id=run.pk, index=0)
    return run


def _client(user, api_token_for) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("lead", 200), ("researcher", 200), ("annotator", 403), ("outsider", 404), ("anonymous", 401)],
)
def test_who_may_list_scorers_and_scoring_runs(persona, expected, scored, request, api_token_for):
    user = None if persona == "anonymous" else request.getfixturevalue(f"{persona}_user")
    client = _client(user, api_token_for)
    for url in (
        "/api/v1/projects/demo/scorers/",
        "/api/v1/projects/demo/scoring-runs/",
        f"/api/v1/projects/demo/scoring-runs/{scored.pk}/",
    ):
        assert client.get(url).status_code == expected, url


def test_a_researcher_lists_the_projects_scorers_and_a_finished_run(
    scored, researcher_user, api_token_for
):
    client = _client(researcher_user, api_token_for)
    scorers = client.get("/api/v1/projects/demo/scorers/").data
    assert [s["name"] for s in scorers["results"]] == ["chars", "words"]  # not another project's
    runs = client.get("/api/v1/projects/demo/scoring-runs/").data
    assert runs["count"] == 1
    (run,) = runs["results"]
    assert (run["scorer"], run["status"], run["scored"], run["total"]) == ("chars", "done", 3, 3)
    detail = client.get(f"/api/v1/projects/demo/scoring-runs/{scored.pk}/").data
    assert detail["id"] == scored.pk and detail["device"] == "cpu"


def test_a_run_of_another_project_is_404(scored, lead_user, api_token_for):
    other = project_create(slug="other", name="Other", domains=[{"name": "general"}])
    run = ScoringRun.objects.create(project=other, scorer=Scorer.objects.get(name="chars"))
    client = _client(lead_user, api_token_for)
    assert client.get(f"/api/v1/projects/demo/scoring-runs/{run.pk}/").status_code == 404


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("lead", 202), ("researcher", 403), ("annotator", 403), ("outsider", 404)],
)
def test_only_a_lead_starts_a_scoring_run(persona, expected, scored, request, api_token_for):
    client = _client(request.getfixturevalue(f"{persona}_user"), api_token_for)
    response = client.post(
        "/api/v1/projects/demo/scoring-runs/", {"scorer": "words"}, format="json"
    )
    assert response.status_code == expected, getattr(response, "data", response)
    started = ScoringRun.objects.filter(scorer__name="words")
    if persona == "lead":
        (run,) = started
        assert response.data["id"] == run.pk and run.trigger == "api"
        assert run.total == 3 and len(run.chunks) == 1
    else:
        assert not started.exists()


def test_starting_a_run_with_an_unknown_or_foreign_scorer_is_a_400(
    scored, lead_user, api_token_for
):
    client = _client(lead_user, api_token_for)
    for name in ("nope", "theirs"):
        response = client.post(
            "/api/v1/projects/demo/scoring-runs/", {"scorer": name}, format="json"
        )
        assert response.status_code == 400
        assert f"no scorer '{name}'" in str(response.data)
    assert not ScoringRun.objects.filter(scorer__name="theirs").exists()


def test_starting_a_finished_run_again_returns_it_unchanged(scored, lead_user, api_token_for):
    client = _client(lead_user, api_token_for)
    response = client.post(
        "/api/v1/projects/demo/scoring-runs/", {"scorer": "chars"}, format="json"
    )
    assert response.status_code == 202
    assert response.data["id"] == scored.pk and response.data["status"] == "done"
    assert ScorerScore.objects.filter(run=scored).count() == 3
