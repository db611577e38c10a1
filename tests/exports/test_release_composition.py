"""Every release reports its composition against the project's targets (DESIGN 4.5) and the
run's model ranking (DESIGN 5), in the manifest and the dataset card."""

from __future__ import annotations

import json

import pytest

from annotation.models import Prompt, Response
from annotation.services.projects import project_apply
from exports.services.build import release_build, release_path, release_request
from scoring.model_ranking import NOT_RECORDED

pytestmark = pytest.mark.django_db


def test_the_manifest_and_the_card_report_composition_against_targets(export_dir, scored):
    project = scored.project
    project_apply(
        definition={
            "slug": project.slug,
            "origin_targets": {"human": 0.6, "model": 0.4},
            "source_targets": {"real_user": 0.5, "expert": 0.5},
        }
    )
    # 60 prompts of 3 responses: one response in three is human, one prompt in four real_user.
    Response.objects.filter(project=project, external_id__endswith="-r0").update(origin="human")
    first = [p.pk for p in scored.prompts[:15]]
    Prompt.objects.filter(pk__in=first).update(source="real_user")
    project.refresh_from_db()

    release = release_build(release=release_request(project=project))
    directory = release_path(release)
    manifest = json.loads((directory / "manifest.json").read_text())
    composition = manifest["composition"]
    assert composition["origin"]["rows"] == [
        {"key": "human", "count": 60, "share": 0.333333, "target": 0.6, "gap_points": -26.7},
        {"key": "model", "count": 120, "share": 0.666667, "target": 0.4, "gap_points": 26.7},
    ]
    assert composition["source"]["rows"] == [
        {"key": "real_user", "count": 15, "share": 0.25, "target": 0.5, "gap_points": -25.0},
        {"key": "expert", "count": 0, "share": 0.0, "target": 0.5, "gap_points": -50.0},
        {"key": "curated", "count": 45, "share": 0.75, "target": 0.0, "gap_points": 75.0},
    ]
    assert manifest["project"]["config"]["origin_targets"] == {"human": 0.6, "model": 0.4}

    card = (directory / "README.md").read_text()
    assert "| human | 60 | 33.3% | 60.0% | -26.7 pts |" in card
    assert "| curated | 45 | 75.0% | 0.0% | +75.0 pts |" in card


def test_a_release_without_targets_says_so_and_shows_no_gap(export_dir, scored):
    release = release_build(release=release_request(project=scored.project))
    directory = release_path(release)
    manifest = json.loads((directory / "manifest.json").read_text())
    model = manifest["composition"]["origin"]["rows"][1]
    assert manifest["composition"]["origin"]["targets_set"] is False
    assert model == {"key": "model", "count": 180, "share": 1.0, "target": None, "gap_points": None}
    assert "| model | 180 | 100.0% | none | - |" in (directory / "README.md").read_text()


def test_a_run_made_before_model_rankings_is_released_with_the_reason(export_dir, scored):
    release = release_build(release=release_request(project=scored.project))
    manifest = json.loads((release_path(release) / "manifest.json").read_text())
    assert manifest["model_ranking"]["defined"] is False
    assert manifest["model_ranking"]["reason"] == NOT_RECORDED
    assert manifest["model_ranking"]["run"] == scored.run.pk
