"""Gold items never reach a release (DESIGN 4.5): a release built from a real run holds no
gold response, no gold prompt and no judgment on either, checked in every built file."""

import pytest

from annotation.models import Annotator, LikertJudgment, PairwiseJudgment
from annotation.services.quality import annotator_exclude, gold_mark
from exports.services.build import ALL_FILES, release_build, release_path, release_request
from scoring.services import aggregation_run_create

from .factories import scored_project

pytestmark = pytest.mark.django_db


def test_a_built_release_holds_no_gold_prompt_response_or_judgment(project, export_dir):
    project.likert_quorum = 3
    project.save(update_fields=["likert_quorum"])
    scored = scored_project(project, n_prompts=9, annotators=4, cluster_every=0, with_run=False)
    likert_prompt, pair_prompt = scored.prompts[0], scored.prompts[1]
    keys = list(project.criteria.values_list("key", flat=True))
    gold_mark(
        project=project,
        response=likert_prompt.responses.order_by("id").first(),
        expected_ratings=dict.fromkeys(keys, 4),
        explanation="Good.",
    )
    a, b, *_ = pair_prompt.responses.order_by("id")
    gold_mark(project=project, response=a, response_b=b, expected_choice="tie", explanation="Even.")
    # Gold answers as the annotators' page stores them, by a rater of their own.
    taker = Annotator.objects.create(project=project, external_id="gold-taker")
    LikertJudgment.objects.create(
        response=a, annotator=taker, gold=True, ratings=dict.fromkeys(keys, 2)
    )
    PairwiseJudgment.objects.create(
        prompt=pair_prompt,
        left=a,
        right=b,
        response_a=a,
        response_b=b,
        annotator=taker,
        choice="left",
        gold=True,
    )
    gold_prompts = [likert_prompt, pair_prompt]
    on_gold = sum(
        LikertJudgment.objects.filter(response__prompt=p).count()
        + PairwiseJudgment.objects.filter(prompt=p).count()
        for p in gold_prompts
    )
    run = aggregation_run_create(project=project, trigger="command", n_resamples=0)
    assert run.counts["gold_judgments_left_out"] == on_gold
    release = release_build(release=release_request(project=project, run=run))
    assert release.status == "ready", release.error
    directory = release_path(release)
    texts = {name: (directory / name).read_bytes() for name in ALL_FILES}
    forbidden = [p.external_id for p in gold_prompts] + [
        r.external_id for p in gold_prompts for r in p.responses.all()
    ]
    forbidden += [p.text for p in gold_prompts]
    for name, data in texts.items():
        for needle in forbidden:
            assert needle.encode() not in data, (name, needle)
    # The rest of the project is there: the release is not simply empty.
    kept = scored.prompts[2]
    assert kept.external_id.encode() in texts["responses.jsonl"]
    assert b"gold-taker" not in texts["judgments.jsonl"]
    n_judgments = texts["judgments.jsonl"].count(b"\n")
    assert n_judgments == run.counts["likert_judgments"] + run.counts["pairwise_judgments"]


def test_a_release_names_excluded_annotators_by_pseudonym_only(project, export_dir):
    import json

    project.likert_quorum = 3
    project.save(update_fields=["likert_quorum"])
    scored_project(project, n_prompts=6, annotators=4, cluster_every=0, with_run=False)
    rater = Annotator.objects.get(project=project, external_id="rater-1")
    annotator_exclude(project=project, annotator=rater, reason="careless")
    run = aggregation_run_create(project=project, trigger="command", n_resamples=0)
    assert run.config["excluded_annotators"][0]["annotator"] == "rater-1"
    release = release_build(release=release_request(project=project, run=run))
    assert release.status == "ready", release.error
    directory = release_path(release)
    for name in ALL_FILES:
        assert b"rater-1" not in (directory / name).read_bytes(), name
    manifest = json.loads((directory / "manifest.json").read_text())
    (excluded,) = manifest["run"]["config"]["excluded_annotators"]
    assert excluded["annotator"].startswith("ann_") and set(excluded) == {
        "annotator",
        "likert",
        "pairwise",
    }
    assert excluded["likert"] == LikertJudgment.objects.filter(annotator=rater).count()
