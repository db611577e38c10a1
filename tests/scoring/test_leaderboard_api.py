"""GET /api/v1/projects/{slug}/leaderboard/ and .../scorers/{name}/metaeval/ (DESIGN 6.5):
personas, sorting, pagination, the noise ceiling, states, and a clear 404."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from scoring.models import Scorer

from .metaeval_records import aggregation_done, ceiling_made, scorer_measured, scoring_run

pytestmark = pytest.mark.django_db

BOARD = "/api/v1/projects/demo/leaderboard/"


def metaeval_url(name: str) -> str:
    return f"/api/v1/projects/demo/scorers/{name}/metaeval/"


@pytest.fixture
def board(project):
    aggregation = aggregation_done(project)
    scorer_measured(project, aggregation, "middling", accuracy=0.7, ece=0.02)
    scorer_measured(project, aggregation, "strong", accuracy=0.9, ece=0.08)
    ceiling_made(aggregation, votes=0.82)
    busy = Scorer.objects.create(
        name="busy", kind="metric", backend="builtin", metric="length_words"
    )
    scoring_run(project, busy, status="running", scored=2)
    return aggregation


def _client(user, api_token_for) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(user)}")
    return client


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("lead", 200), ("researcher", 200), ("annotator", 403), ("outsider", 404), ("anonymous", 401)],
)
def test_who_may_read_the_leaderboard_and_the_figures(
    persona, expected, board, request, api_token_for
):
    user = None if persona == "anonymous" else request.getfixturevalue(f"{persona}_user")
    client = _client(user, api_token_for)
    assert client.get(BOARD).status_code == expected
    assert client.get(metaeval_url("strong")).status_code == expected


def test_the_leaderboard_lists_rows_best_first_with_the_ceiling(
    board, researcher_user, api_token_for
):
    body = _client(researcher_user, api_token_for).get(BOARD).json()
    assert body["count"] == 3 and body["sort"] == "accuracy"
    assert [r["scorer"] for r in body["results"]] == ["strong", "middling", "busy"]
    strong = body["results"][0]
    assert strong["state"] == "ready" and strong["pairs"] == "voted"
    assert strong["headline"]["accuracy"]["value"] == pytest.approx(0.9)
    assert strong["headline"]["accuracy"]["ci_low"] == pytest.approx(0.87)
    busy = body["results"][2]
    assert busy["state"] == "running" and busy["headline"] == {}
    assert busy["latest_run"]["scored"] == 2 and busy["scoring_run"] is None
    assert body["aggregation_run"] == board.pk
    assert body["noise_ceiling"]["votes"]["value"]["value"] == pytest.approx(0.82)


def test_the_leaderboard_sorts_as_asked(board, lead_user, api_token_for):
    client = _client(lead_user, api_token_for)
    by_ece = client.get(BOARD, {"sort": "ece"}).json()
    assert [r["scorer"] for r in by_ece["results"]] == ["middling", "strong", "busy"]
    worst = client.get(BOARD, {"sort": "-accuracy"}).json()
    assert [r["scorer"] for r in worst["results"]] == ["middling", "strong", "busy"]


def test_the_leaderboard_is_paginated(board, lead_user, api_token_for):
    Scorer.objects.bulk_create(
        Scorer(name=f"s{i:02}", kind="metric", backend="builtin", metric="length_words")
        for i in range(50)
    )
    client = _client(lead_user, api_token_for)
    first = client.get(BOARD).json()
    assert first["count"] == 53 and len(first["results"]) == 50 and first["next"]
    assert [r["scorer"] for r in first["results"][:3]] == ["strong", "middling", "busy"]
    second = client.get(first["next"]).json()
    assert [r["scorer"] for r in second["results"]] == ["s47", "s48", "s49"]
    assert second["noise_ceiling"]["votes"]["n_annotators"] == 3


def test_a_project_without_an_aggregation_run_has_rows_that_say_so(
    project, lead_user, api_token_for
):
    chars = Scorer.objects.create(
        name="chars", kind="metric", backend="builtin", metric="length_chars"
    )
    scoring_run(project, chars)
    body = _client(lead_user, api_token_for).get(BOARD).json()
    assert body["aggregation_run"] is None and body["noise_ceiling"] is None
    (row,) = body["results"]
    assert row["state"] == "no_aggregation" and "aggregate" in row["detail"]


def test_the_metaeval_endpoint_returns_the_whole_figures_document(
    board, researcher_user, api_token_for
):
    body = _client(researcher_user, api_token_for).get(metaeval_url("strong")).json()
    assert body["scorer"] == "strong" and body["aggregation_run"] == board.pk
    assert body["status"] == "done"
    figures = body["figures"]
    assert figures["headline"]["accuracy"]["value"] == pytest.approx(0.9)
    assert figures["voted"]["calibration"]["temperature"] == 2.0
    assert set(figures["probes"]) == {"pad", "markdown", "flattery", "truncate"}
    assert body["config"]["seed"] == 7


def test_the_metaeval_endpoint_says_why_there_is_no_record(board, lead_user, api_token_for):
    client = _client(lead_user, api_token_for)
    running = client.get(metaeval_url("busy"))
    assert running.status_code == 404
    assert "No meta-evaluation of 'busy' yet" in running.json()["detail"]
    assert "Scoring the project's responses" in running.json()["detail"]
    unknown = client.get(metaeval_url("nope"))
    assert unknown.status_code == 404 and "No scorer 'nope'" in unknown.json()["detail"]


def test_the_schema_documents_both_endpoints(client):
    schema = client.get("/api/v1/schema/").content.decode()
    assert "/api/v1/projects/{slug}/leaderboard/" in schema
    assert "/api/v1/projects/{slug}/scorers/{name}/metaeval/" in schema
