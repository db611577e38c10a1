"""The project's scoring page: leads start runs and watch them; every response's score."""

from __future__ import annotations

import pytest

from scoring.models import Scorer, ScoringRun
from scoring.scoring_runs import scoring_run_chunk

pytestmark = pytest.mark.django_db

PAGE = "/scoring/p/demo/scorers/"
START = "/scoring/p/demo/scoring-runs/start/"


@pytest.fixture
def responses(project):
    from annotation.models import Prompt, Response

    domain = project.domains.get()
    prompt = Prompt.objects.create(
        project=project, domain=domain, text="Why?", external_id="why", content_hash="why"
    )
    made = [
        Response.objects.create(
            project=project, prompt=prompt, text=t, external_id=f"r{i}", content_hash=f"r{i}"
        )
        for i, t in enumerate(["Because.", "Because the sky is blue.", "# Reason\n- one"])
    ]
    Scorer.objects.create(name="chars", kind="metric", backend="builtin", metric="length_chars")
    return made


@pytest.mark.parametrize(
    ("persona", "expected"),
    [("lead", 200), ("researcher", 200), ("annotator", 403), ("outsider", 404)],
)
def test_who_sees_the_scoring_page(persona, expected, client, responses, request):
    client.force_login(request.getfixturevalue(f"{persona}_user"))
    response = client.get(PAGE)
    assert response.status_code == expected
    if expected == 200:
        html = response.content.decode()
        assert 'data-scorer="chars"' in html
        assert ("Start scoring" in html) == (persona == "lead")


@pytest.mark.parametrize(("persona", "expected"), [("researcher", 403), ("outsider", 404)])
def test_only_a_lead_starts_a_run_from_the_page(persona, expected, client, responses, request):
    client.force_login(request.getfixturevalue(f"{persona}_user"))
    assert client.post(START, {"scorer": "chars"}).status_code == expected
    assert not ScoringRun.objects.exists()


def test_a_lead_starts_a_run_watches_it_finish_and_sees_every_score(client, responses, lead_user):
    client.force_login(lead_user)
    started = client.post(START, {"scorer": "chars"}, follow=True)
    assert "Scoring run" in started.content.decode()
    run = ScoringRun.objects.get()
    assert run.trigger == "page" and run.total == 3
    polling = client.get(PAGE, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every 2s"' in polling  # queued: the fragment polls
    assert "0 / 3 responses" in polling
    scoring_run_chunk(run_id=run.pk, index=0)  # the worker's part
    finished = client.get(PAGE, headers={"HX-Request": "true"}).content.decode()
    assert "3 / 3 responses" in finished and "every 2s" not in finished
    detail = client.get(f"/scoring/p/demo/scoring-runs/{run.pk}/").content.decode()
    for response in responses:
        assert response.external_id in detail
        assert f"{len(response.text)}.0000" in detail


def test_starting_an_unknown_scorer_says_so(client, responses, lead_user):
    client.force_login(lead_user)
    page = client.post(START, {"scorer": "nope"}, follow=True).content.decode()
    assert "no scorer &#x27;nope&#x27;" in page
    assert not ScoringRun.objects.exists()


def test_another_projects_run_is_404(client, responses, lead_user):
    from annotation.services.projects import project_create

    other = project_create(slug="other", name="Other", domains=[{"name": "general"}])
    run = ScoringRun.objects.create(project=other, scorer=Scorer.objects.get())
    client.force_login(lead_user)
    assert client.get(f"/scoring/p/demo/scoring-runs/{run.pk}/").status_code == 404


def test_without_a_broker_a_model_scorer_is_not_run_inside_the_web_process(
    client, responses, lead_user, settings, tmp_path
):
    settings.CELERY_TASK_ALWAYS_EAGER = True  # the embedded default: no broker, no worker
    model = tmp_path / "rm"
    model.mkdir()
    Scorer.objects.create(
        name="big-rm",
        kind="reward_model",
        backend="transformers",
        model_path=str(model),
        revision="0" * 64,
    )
    client.force_login(lead_user)
    page = client.post(START, {"scorer": "big-rm"}, follow=True).content.decode()
    assert "there is no scoring worker" in page and "manage.py score --foreground" in page
    assert not ScoringRun.objects.exists()
