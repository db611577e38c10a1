import json

import pandas as pd
import pytest

from exports.services.build import release_build, release_path, release_request, release_verify
from scoring.models import ResponseScore

from .factories import scored_project

pytestmark = pytest.mark.django_db


def test_a_release_of_a_real_aggregation_run(project, export_dir):
    from scoring.services import aggregation_run_create

    scored_project(project, n_prompts=30, annotators=5, with_run=False)
    run = aggregation_run_create(project=project, trigger="command")
    assert run.status == "done"
    release = release_build(release=release_request(project=project))
    assert release.run_id == run.pk and release.version == 1
    assert release_verify(release=release) == []
    directory = release_path(release)

    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["run"]["id"] == run.pk
    assert manifest["agreement"] == json.loads(json.dumps(run.agreement))
    assert manifest["exclusions"] == json.loads(json.dumps(run.exclusions))

    scores = {
        ext: (final, rank)
        for ext, final, rank in ResponseScore.objects.filter(run=run).values_list(
            "response__external_id", "final", "rank"
        )
    }
    responses = pd.read_parquet(directory / "responses.parquet")
    assert len(responses) == len(scores)
    prefs = pd.read_parquet(directory / "preferences.parquet")
    assert len(prefs) > 0
    for row in prefs.itertuples():
        chosen, rejected = scores[row.chosen_id], scores[row.rejected_id]
        assert chosen[0] > rejected[0] and chosen[1] < rejected[1]
    judgments = pd.read_json(directory / "judgments.jsonl", lines=True)
    assert (judgments["kind"] == "likert").sum() == 30 * 3 * 5


def test_a_release_exports_exactly_the_judgments_its_run_aggregated(project, export_dir):
    from annotation.models import Annotator, LikertJudgment, Response
    from scoring.services import aggregation_run_create

    scored_project(project, n_prompts=5, annotators=3, with_run=False)
    run = aggregation_run_create(project=project, trigger="command")
    before = LikertJudgment.objects.filter(response__project=project).count()
    assert (
        run.config["judgment_cutoff"]["likert_max_id"]
        == LikertJudgment.objects.order_by("-id").first().pk
    )

    late = Annotator.objects.create(project=project, external_id="late-rater")
    LikertJudgment.objects.create(
        response=Response.objects.filter(project=project).first(),
        annotator=late,
        ratings={"usefulness": 5},
    )
    release = release_build(release=release_request(project=project, run=run))
    judgments = pd.read_json(release_path(release) / "judgments.jsonl", lines=True)
    assert (judgments["kind"] == "likert").sum() == before
