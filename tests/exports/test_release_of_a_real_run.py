import json
import threading

import pandas as pd
import pytest
from django.db import connection

from annotation.models import Annotator, LikertJudgment, Response
from exports.services.build import (
    pseudonymizer,
    release_build,
    release_path,
    release_request,
    release_verify,
)
from scoring.models import ResponseScore
from scoring.services import aggregation_run_create

from .factories import scored_project


def read_jsonl(path):
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def release_pseudonym(release):
    return pseudonymizer(
        project=release.project,
        run=release.run,
        seed=release.seed,
        test_fraction=release.test_fraction,
        holdout=release.holdout_domains,
    )


@pytest.mark.django_db
def test_a_release_of_a_real_aggregation_run(project, export_dir):
    scored_project(project, n_prompts=30, annotators=5, with_run=False)
    run = aggregation_run_create(project=project, trigger="command")
    assert run.status == "done"
    release = release_build(release=release_request(project=project))
    assert release.run_id == run.pk and release.version == 1
    assert release_verify(release=release) == []
    directory = release_path(release)

    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["run"]["id"] == run.pk
    agreement = json.loads(json.dumps(run.agreement))
    for key in ("criteria", "overall", "domains", "pairwise"):
        assert manifest["agreement"][key] == agreement[key]
    assert len(manifest["agreement"]["annotators"]) == len(agreement["annotators"]) == 5
    assert [e["count"] for e in manifest["exclusions"]] == [e["count"] for e in run.exclusions]

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


@pytest.mark.django_db
def test_a_judgment_committed_after_the_run_is_not_in_its_release(project, export_dir):
    scored_project(project, n_prompts=5, annotators=3, with_run=False)
    run = aggregation_run_create(project=project, trigger="command")
    before = LikertJudgment.objects.filter(response__project=project).count()
    late = Annotator.objects.create(project=project, external_id="late-rater")
    LikertJudgment.objects.create(
        response=Response.objects.filter(project=project).first(),
        annotator=late,
        ratings={"usefulness": 5},
    )
    release = release_build(release=release_request(project=project, run=run))
    judgments = read_jsonl(release_path(release) / "judgments.jsonl")
    assert sum(j["kind"] == "likert" for j in judgments) == before == run.counts["likert_judgments"]
    assert release_pseudonym(release)(late.pk) not in {j["annotator"] for j in judgments}


@pytest.mark.django_db(transaction=True)
def test_a_release_exports_exactly_the_judgments_its_run_read_when_they_commit_out_of_id_order(
    project, export_dir
):
    """Connection A inserts a judgment (the lower id) and commits only after connection B's
    judgment (the higher id) committed and the run read the table in between. The run never
    saw A's judgment, so its release must not export it, though its id is below the highest
    id the run read."""
    scored_project(project, n_prompts=5, annotators=3, with_run=False)
    first_response, second_response = Response.objects.filter(project=project).order_by("id")[:2]
    rater_a = Annotator.objects.create(project=project, external_id="rater-a")
    rater_b = Annotator.objects.create(project=project, external_id="rater-b")
    inserted, commit_now = threading.Event(), threading.Event()
    held = {}

    def connection_a():
        from django.db import transaction

        try:
            with transaction.atomic():
                held["a"] = LikertJudgment.objects.create(
                    response=first_response, annotator=rater_a, ratings={"usefulness": 1}
                )
                inserted.set()
                assert commit_now.wait(timeout=60)
        finally:
            inserted.set()
            connection.close()

    thread = threading.Thread(target=connection_a)
    thread.start()
    try:
        assert inserted.wait(timeout=60) and "a" in held
        b = LikertJudgment.objects.create(
            response=second_response, annotator=rater_b, ratings={"usefulness": 5}
        )
        assert held["a"].pk < b.pk
        run = aggregation_run_create(project=project, trigger="command", n_resamples=0)
    finally:
        commit_now.set()
        thread.join(timeout=60)
    assert LikertJudgment.objects.filter(pk=held["a"].pk).exists()  # A committed

    release = release_build(release=release_request(project=project, run=run))
    judgments = read_jsonl(release_path(release) / "judgments.jsonl")
    likert = [j for j in judgments if j["kind"] == "likert"]
    pseudonym = release_pseudonym(release)
    annotators = {j["annotator"] for j in likert}
    assert pseudonym(rater_b.pk) in annotators
    assert pseudonym(rater_a.pk) not in annotators
    assert len(likert) == run.counts["likert_judgments"]
    likert_ids, _ = run.judgment_ids()
    assert b.pk in likert_ids and held["a"].pk not in likert_ids
    assert likert_ids.size == len(likert)


@pytest.mark.django_db
def test_responses_hold_one_row_per_response_with_a_final_score(project, export_dir):
    """A response with pairwise data but no Likert quorum gets final = borda; one judged
    below both quorums gets no final and no row (it is counted in the exclusions)."""
    from annotation.models import PairwiseJudgment

    scored_project(project, n_prompts=6, annotators=5, with_run=False)
    # Below both quorums: a single Likert judgment (quorum 5 by default) and no pairs.
    # Pairwise only: no Likert judgment, but its pair reaches the pairwise quorum (3).
    responses = list(Response.objects.filter(project=project).order_by("id"))
    below, pairwise_only = responses[0], responses[3]
    LikertJudgment.objects.filter(response=below).exclude(
        pk=LikertJudgment.objects.filter(response=below).order_by("id").first().pk
    ).delete()
    PairwiseJudgment.objects.filter(response_a=below).delete()
    PairwiseJudgment.objects.filter(response_b=below).delete()
    LikertJudgment.objects.filter(response=pairwise_only).delete()
    run = aggregation_run_create(project=project, trigger="command", n_resamples=0)
    scores = {s.response_id: s for s in ResponseScore.objects.filter(run=run)}
    assert scores[below.pk].final is None
    assert scores[pairwise_only.pk].final_source == "borda_only"
    assert scores[pairwise_only.pk].final == scores[pairwise_only.pk].borda is not None

    release = release_build(release=release_request(project=project, run=run))
    rows = read_jsonl(release_path(release) / "responses.jsonl")
    assert len(rows) == run.counts["responses_scored"] == len(responses) - 1
    assert all(row["final"] is not None for row in rows)
    assert below.external_id not in {row["response_id"] for row in rows}
    only = next(row for row in rows if row["response_id"] == pairwise_only.external_id)
    assert only["final_source"] == "borda_only" and only["final"] == only["borda"]
    assert only["criterion_score"] is None and only["rank"] is not None
    parquet = pd.read_parquet(release_path(release) / "responses.parquet")
    assert len(parquet) == len(rows) and parquet["final"].notna().all()
    card = (release_path(release) / "README.md").read_text()
    assert "final = borda" in card
