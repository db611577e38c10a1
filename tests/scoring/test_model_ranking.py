"""The Arena-style model ranking (DESIGN 5): each aggregation run ranks the generator models
from its pairwise votes, the dashboard shows it and releases carry it."""

from __future__ import annotations

import json

import pytest

from annotation.models import Membership
from annotation.services.imports import items_import, judgments_import
from annotation.services.projects import project_apply
from exports.services.build import release_build, release_path, release_request
from scoring.services import aggregation_run_create
from tests.data_converters import PANDALM_DEFINITION, pandalm_files

# How the lead page fetches a panel (a whole page otherwise: annotation.fragments).
HTMX = {"HX-Request": "true"}

pytestmark = pytest.mark.django_db

PANDALM_ORDER = ["llama-7b", "pythia-6.9b", "bloom-7b", "opt-7b", "cerebras-gpt-6.7B"]


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def pandalm_run(tmp_path):
    items, judgments = pandalm_files(tmp_path)
    project, _ = project_apply(definition={"slug": "pandalm", **PANDALM_DEFINITION})
    items_import(project=project, source=items, on_duplicate="keep")
    judgments_import(project=project, source=judgments)
    return aggregation_run_create(project=project, trigger="command", n_resamples=200)


@pytest.mark.slow
def test_pandalm_human_votes_rank_the_models_in_the_published_order_in_the_stored_run(
    pandalm_run, settings, tmp_path
):
    pandalm_run.refresh_from_db()
    ranking = pandalm_run.model_ranking
    assert ranking["defined"] is True and ranking["reason"] == ""
    assert [p["player"] for p in ranking["players"]] == PANDALM_ORDER
    assert [p["rank"] for p in ranking["players"]] == [1, 2, 3, 4, 5]
    assert ranking["n_prompts"] == 999 and ranking["n_games"] == 2997
    assert ranking["n_resamples"] == 200 and ranking["n_judgments_without_model"] == 0
    top, second = ranking["players"][:2]
    assert top["strength"]["ci_low"] > second["strength"]["ci_high"]

    settings.EXPORT_DIR = tmp_path / "releases"
    release = release_build(release=release_request(project=pandalm_run.project))
    directory = release_path(release)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["model_ranking"]["order"] == PANDALM_ORDER
    assert manifest["model_ranking"]["run"] == pandalm_run.pk
    card = (directory / "README.md").read_text()
    assert "## Model ranking" in card
    assert card.index("| 1 | llama-7b |") < card.index("| 5 | cerebras-gpt-6.7B |")


def test_the_same_votes_give_the_same_ranking_in_two_runs(tmp_path):
    project = _small_project(tmp_path, with_models=True)
    first = aggregation_run_create(project=project, trigger="command", n_resamples=50)
    second = aggregation_run_create(project=project, trigger="command", n_resamples=50)
    assert first.model_ranking == second.model_ranking
    assert first.model_ranking["order"] == ["strong", "weak"]


def _small_project(tmp_path, *, with_models: bool):
    """Four prompts, each a response of 'strong' and one of 'weak'; strong wins 3 of 4."""
    project, _ = project_apply(definition={"slug": "small", "name": "Small"})
    items, judgments = [], []
    for i in range(4):
        responses = [
            {"response_id": f"p{i}-s", "text": f"Strong {i}."},
            {"response_id": f"p{i}-w", "text": f"Weak {i}."},
        ]
        if with_models:
            responses[0]["model"], responses[1]["model"] = "strong", "weak"
        items.append(
            {"prompt_id": f"p{i}", "prompt": f"Q {i}?", "domain": "general", "responses": responses}
        )
        for k in range(3):
            judgments.append(
                {
                    "kind": "pairwise",
                    "prompt_id": f"p{i}",
                    "response_a": f"p{i}-s",
                    "response_b": f"p{i}-w",
                    "annotator": f"r{k}",
                    "choice": "b" if (i == 0 and k == 0) else "a",
                }
            )
    items_import(project=project, source=_jsonl(tmp_path / "items.jsonl", items))
    judgments_import(project=project, source=_jsonl(tmp_path / "judgments.jsonl", judgments))
    return project


def test_a_project_without_model_names_gets_an_explicit_undefined_ranking(tmp_path, settings):
    project = _small_project(tmp_path, with_models=False)
    run = aggregation_run_create(project=project, trigger="command", n_resamples=20)
    run.refresh_from_db()
    assert run.model_ranking["defined"] is False
    assert "model" in run.model_ranking["reason"] and run.model_ranking["players"] == []
    assert run.model_ranking["n_judgments_without_model"] == 12

    settings.EXPORT_DIR = tmp_path / "releases"
    release = release_build(release=release_request(project=project))
    manifest = json.loads((release_path(release) / "manifest.json").read_text())
    assert manifest["model_ranking"]["defined"] is False
    assert manifest["model_ranking"]["reason"] == run.model_ranking["reason"]
    card = (release_path(release) / "README.md").read_text()
    assert "Model ranking: undefined" in card


def test_a_project_without_pairwise_votes_says_why_there_is_no_ranking():
    project, _ = project_apply(definition={"slug": "none", "name": "None"})
    run = aggregation_run_create(project=project, trigger="command", n_resamples=20)
    assert run.model_ranking["defined"] is False
    assert run.model_ranking["reason"].startswith("no pairwise judgments")


# --- The dashboard panel ----------------------------------------------------------------


def _member(project, username, role, django_user_model):
    user = django_user_model.objects.create_user(username=username)
    if role:
        Membership.objects.create(user=user, project=project, role=role)
    return user


@pytest.mark.parametrize(
    "role, status", [("lead", 200), ("researcher", 200), ("annotator", 403), ("", 404)]
)
def test_the_model_ranking_panel_is_for_leads_and_researchers(
    client, tmp_path, django_user_model, role, status
):
    project = _small_project(tmp_path, with_models=True)
    client.force_login(_member(project, "someone", role, django_user_model))
    assert client.get("/scoring/p/small/models/panel/").status_code == status


def test_the_panel_shows_the_ranking_table_and_its_chart(client, tmp_path, django_user_model):
    project = _small_project(tmp_path, with_models=True)
    aggregation_run_create(project=project, trigger="command", n_resamples=50)
    client.force_login(_member(project, "lead", "lead", django_user_model))
    html = client.get("/scoring/p/small/models/panel/").content.decode()
    assert html.index('<tr data-model="strong">') < html.index('<tr data-model="weak">')
    assert '<figure class="chart">' in html and 'aria-label="Chance of beating' in html
    strong = html.split('<tr data-model="strong">')[1].split("</tr>")[0]
    assert "11 / 1 / 0" in strong


def test_the_panel_says_why_a_run_has_no_ranking(client, tmp_path, django_user_model):
    project = _small_project(tmp_path, with_models=False)
    aggregation_run_create(project=project, trigger="command", n_resamples=20)
    client.force_login(_member(project, "lead", "lead", django_user_model))
    html = client.get("/scoring/p/small/models/panel/").content.decode()
    assert 'data-ranking="undefined"' in html and "model" in html
    assert "<figure" not in html


def test_the_panel_queries_do_not_grow_with_models_or_votes(
    client, tmp_path, django_user_model, django_assert_max_num_queries
):
    project = _small_project(tmp_path, with_models=True)
    aggregation_run_create(project=project, trigger="command", n_resamples=20)
    client.force_login(_member(project, "lead", "lead", django_user_model))
    with django_assert_max_num_queries(5):
        client.get("/scoring/p/small/models/panel/", headers=HTMX)


def test_the_researchers_results_page_loads_the_model_ranking(client, tmp_path, django_user_model):
    project = _small_project(tmp_path, with_models=True)
    client.force_login(_member(project, "res", "researcher", django_user_model))
    html = client.get("/scoring/p/small/").content.decode()
    assert 'hx-get="/scoring/p/small/models/panel/"' in html
