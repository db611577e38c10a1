"""Composition targets (DESIGN 4.5): origin and source shares set on the project, validated
like the rest of its definition, and shown against what the project holds and has judged."""

from __future__ import annotations

import json

import pytest
from django.forms import modelform_factory

from annotation.composition import project_composition
from annotation.errors import ValidationProblems
from annotation.models import Membership, Project
from annotation.services.dashboard import dashboard_refresh
from annotation.services.imports import items_import, judgments_import
from annotation.services.projects import project_apply

# How the lead page fetches a panel (a whole page otherwise: annotation.fragments).
HTMX = {"HX-Request": "true"}

pytestmark = pytest.mark.django_db

RATINGS = {"usefulness": 4, "factuality": 4, "safety": 5, "alignment": 4}
TARGETS = {
    "origin_targets": {"human": 0.6, "model": 0.4},
    "source_targets": {"real_user": 0.4, "expert": 0.4, "curated": 0.2},
}


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def mixed(tmp_path):
    """Ten prompts of two responses: p0..p6 lead with a human response, the rest are model
    responses (7 human, 13 model); sources real_user p0..p4, expert p5..p7, curated p8, p9.
    Judged: the first response of p0..p3 (Likert) and both of p4 (pairwise): 5 human and 1
    model response, 5 real_user prompts. A gold prompt (human, real_user) is left out."""
    project, _ = project_apply(definition={"slug": "mix", "name": "Mix", **TARGETS})
    items = []
    for i in range(10):
        source = "real_user" if i < 5 else "expert" if i < 8 else "curated"
        first = "human" if i < 7 else "model"
        items.append(
            {
                "prompt_id": f"p{i}",
                "prompt": f"Question {i}?",
                "domain": "general",
                "source": source,
                "responses": [
                    {"response_id": f"p{i}-1", "text": f"First {i}.", "origin": first},
                    {"response_id": f"p{i}-2", "text": f"Second {i}.", "model": "m"},
                ],
            }
        )
    items.append(
        {
            "prompt_id": "gold",
            "prompt": "A gold question?",
            "domain": "general",
            "source": "real_user",
            "responses": [{"response_id": "gold-1", "text": "Gold.", "origin": "human"}],
            "gold": {"response_id": "gold-1", "ratings": RATINGS, "explanation": "Known."},
        }
    )
    items_import(project=project, source=_jsonl(tmp_path / "items.jsonl", items))
    judgments = [
        {"kind": "likert", "response_id": f"p{i}-1", "annotator": "r1", "ratings": RATINGS}
        for i in range(4)
    ]
    judgments.append(
        {
            "kind": "pairwise",
            "prompt_id": "p4",
            "response_a": "p4-1",
            "response_b": "p4-2",
            "annotator": "r1",
            "choice": "a",
        }
    )
    judgments_import(project=project, source=_jsonl(tmp_path / "judgments.jsonl", judgments))
    return project


def _rows(dimension):
    return {
        r.key: (r.count, r.percent, r.gap, r.judged, r.judged_percent, r.judged_gap)
        for r in dimension.rows
    }


def test_composition_figures_are_exact_on_a_constructed_project(mixed):
    composition = project_composition(project=mixed)
    assert _rows(composition.origin) == {
        "human": (7, 35.0, -25.0, 5, 83.3, 23.3),
        "model": (13, 65.0, 25.0, 1, 16.7, -23.3),
    }
    assert _rows(composition.source) == {
        "real_user": (5, 50.0, 10.0, 5, 100.0, 60.0),
        "expert": (3, 30.0, -10.0, 0, 0.0, -40.0),
        "curated": (2, 20.0, 0.0, 0, 0.0, -20.0),
    }
    assert composition.origin.total == 20 and composition.source.judged_total == 5


def test_without_targets_the_shares_are_shown_and_no_gap(mixed):
    project_apply(definition={"slug": "mix", "origin_targets": {}, "source_targets": {}})
    mixed.refresh_from_db()
    composition = project_composition(project=mixed)
    human = composition.origin.rows[0]
    assert (human.key, human.percent, human.target, human.gap) == ("human", 35.0, None, None)
    assert not composition.origin.has_targets


@pytest.mark.parametrize(
    "targets, field, message",
    [
        ({"origin_targets": {"human": 0.7, "model": 0.4}}, "origin_targets", "sum to 1.1"),
        ({"origin_targets": {"robot": 1.0}}, "origin_targets", "unknown origin 'robot'"),
        ({"origin_targets": {"human": 1.5}}, "origin_targets", "between 0 and 1"),
        ({"origin_targets": {"human": "most"}}, "origin_targets", "not a number"),
        ({"origin_targets": [0.6, 0.4]}, "origin_targets", "must be a JSON object"),
        ({"source_targets": {"forum": 1.0}}, "source_targets", "unknown source 'forum'"),
        ({"source_targets": {"expert": 0.5}}, "source_targets", "sum to 0.5"),
    ],
)
def test_bad_targets_are_refused_naming_the_field_and_the_fix(targets, field, message):
    with pytest.raises(ValidationProblems) as caught:
        project_apply(definition={"slug": "bad", **targets})
    assert [p.field for p in caught.value.problems] == [field]
    assert message in caught.value.problems[0].message


def test_the_admin_form_refuses_bad_targets_with_the_same_message():
    project, _ = project_apply(definition={"slug": "form"})
    form_class = modelform_factory(Project, fields=["origin_targets", "source_targets"])
    form = form_class(
        data={"origin_targets": '{"robot": 1}', "source_targets": '{"expert": 0.5}'},
        instance=project,
    )
    assert not form.is_valid()
    assert "unknown origin 'robot'; use human, model" in form.errors["origin_targets"][0]
    assert "shares must sum to 1, these sum to 0.5" in form.errors["source_targets"][0]


def test_targets_that_sum_to_one_are_stored():
    project, _ = project_apply(definition={"slug": "ok", **TARGETS})
    project.refresh_from_db()
    assert project.origin_targets == {"human": 0.6, "model": 0.4}
    assert project.source_targets == TARGETS["source_targets"]


# --- The dashboard panel ----------------------------------------------------------------


def _member(project, username, role, django_user_model):
    user = django_user_model.objects.create_user(username=username)
    if role:
        Membership.objects.create(user=user, project=project, role=role)
    return user


@pytest.mark.parametrize(
    "role, status", [("lead", 200), ("researcher", 200), ("annotator", 403), ("", 404)]
)
def test_the_composition_panel_is_for_leads_and_researchers(
    client, mixed, django_user_model, role, status
):
    client.force_login(_member(mixed, "someone", role, django_user_model))
    assert client.get("/p/mix/lead/composition/").status_code == status


def test_the_panel_shows_percent_and_the_gap_in_points(client, mixed, django_user_model):
    client.force_login(_member(mixed, "lead", "lead", django_user_model))
    html = client.get("/p/mix/lead/composition/").content.decode()
    human = html.split('<tr data-key="human">')[1].split("</tr>")[0]
    assert "60.0%" in human and "35.0%" in human and "-25.0 pts" in human
    assert "+23.3 pts" in human
    curated = html.split('<tr data-key="curated">')[1].split("</tr>")[0]
    assert "0.0 pts" in curated and "-20.0 pts" in curated


def test_the_lead_page_loads_the_composition_panel(client, mixed, django_user_model):
    client.force_login(_member(mixed, "lead", "lead", django_user_model))
    html = client.get("/p/mix/lead/").content.decode()
    assert 'hx-get="/p/mix/lead/composition/"' in html


def test_the_panel_costs_the_same_queries_with_ten_times_the_items(
    client, mixed, django_user_model, django_assert_max_num_queries, tmp_path
):
    client.force_login(_member(mixed, "lead", "lead", django_user_model))
    dashboard_refresh(project_id=mixed.pk)  # as the queued job does after the commits
    with django_assert_max_num_queries(6) as small:
        client.get("/p/mix/lead/composition/", headers=HTMX)
    more = [
        {
            "prompt_id": f"more{i}",
            "prompt": f"More {i}?",
            "domain": "general",
            "responses": [{"response_id": f"more{i}-{j}", "text": f"R {i} {j}."} for j in range(3)],
        }
        for i in range(100)
    ]
    items_import(project=mixed, source=_jsonl(tmp_path / "more.jsonl", more))
    dashboard_refresh(project_id=mixed.pk)
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get("/p/mix/lead/composition/", headers=HTMX)
