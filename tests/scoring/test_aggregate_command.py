"""manage.py aggregate."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from annotation.services.projects import project_create
from scoring.models import AggregationRun

from .factories import prompt_with_responses, rate, raters

pytestmark = pytest.mark.django_db


@pytest.fixture
def rated(db):
    project = project_create(
        slug="rated",
        name="Rated",
        domains=[{"name": "general"}],
        criteria=[{"key": "quality", "label": "Quality", "weight": 1.0}],
        likert_quorum=2,
        agreement_target=0.5,
    )
    r1, r2 = raters(project, 2)
    for i in range(12):
        _, (resp,) = prompt_with_responses(project, 1)
        rate(resp, r1, quality=1 + i % 5)
        rate(resp, r2, quality=1 + (i + i // 6) % 5)
    return project


def test_it_prints_alpha_per_criterion_with_ci_against_the_target(rated):
    out = StringIO()
    call_command("aggregate", "--project", "rated", stdout=out, stderr=StringIO())
    text = out.getvalue()
    run = AggregationRun.objects.get()
    assert f"Run {run.pk} of rated" in text and "target 0.5" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("quality") and "ordinal*" in x)
    value = run.agreement["criteria"]["quality"]["alpha"]["ordinal"]["value"]
    assert f"{value:+.3f}" in line and ("meets" if value >= 0.5 else "below") in line


def test_json_prints_one_document_with_the_run_id_and_every_figure(rated):
    out = StringIO()
    call_command("aggregate", "--project", "rated", "--json", stdout=out, stderr=StringIO())
    doc = json.loads(out.getvalue())
    run = AggregationRun.objects.get()
    assert doc["run_id"] == run.pk and doc["status"] == "done"
    assert doc["agreement"] == json.loads(json.dumps(run.agreement))
    assert set(doc["agreement"]["criteria"]["quality"]["alpha"]) == {"ordinal", "interval"}
    assert doc["counts"]["likert_judgments"] == 24


def test_an_unknown_project_fails_with_a_one_line_reason(db):
    with pytest.raises(CommandError, match="^no project with slug 'nope'$"):
        call_command("aggregate", "--project", "nope")
