import json
import os
from collections import defaultdict
from types import SimpleNamespace

import pandas as pd
import pyarrow.parquet as pq
import pytest

from annotation.errors import ConflictError, ValidationProblems
from annotation.models import Prompt
from exports.models import Release
from exports.services import build
from exports.services.build import (
    files,
    release_build,
    release_path,
    release_request,
    release_verify,
)
from exports.services.build import publish as publish_step
from exports.services.writers import file_sha256
from scoring.models import AggregationRun, ResponseScore

pytestmark = pytest.mark.django_db


def publish(project, **kwargs):
    release = release_request(project=project, **kwargs)
    return release_build(release=release)


def read_jsonl(path):
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_a_release_gets_version_1_and_every_file_with_its_checksum(export_dir, scored):
    release = publish(scored.project)
    assert release.status == Release.Status.READY and release.version == 1
    directory = release_path(release)
    assert directory == export_dir / "demo" / "v1"
    assert sorted(os.listdir(directory)) == sorted(build.ALL_FILES)
    assert sorted(release.files) == sorted(build.ALL_FILES)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert sorted(manifest["files"]) == sorted(build.DATA_FILES)
    for name, meta in manifest["files"].items():
        assert file_sha256(directory / name) == meta["sha256"] == release.files[name]["sha256"]
    assert release_verify(release=release) == []


def test_two_builds_of_the_same_run_and_seed_are_byte_identical(export_dir, scored):
    v1 = publish(scored.project, run=scored.run, seed=7)
    v2 = publish(scored.project, run=scored.run, seed=7)
    for name in build.ALL_FILES:
        assert (release_path(v1) / name).read_bytes() == (release_path(v2) / name).read_bytes(), (
            name
        )


def test_another_seed_gives_another_split(export_dir, scored):
    # Two seeds can give the same split of a small project by chance (group keys come from
    # database ids), so the test looks at three: they must not all agree.
    splits = []
    for seed in (1, 2, 3):
        release = publish(scored.project, seed=seed)
        rows = read_jsonl(release_path(release) / "responses.jsonl")
        splits.append(tuple(sorted((r["prompt_id"], r["split"]) for r in rows)))
    assert len(set(splits)) > 1


def test_building_again_gives_v2_and_leaves_v1_untouched(export_dir, scored):
    v1 = publish(scored.project)
    before = {name: (release_path(v1) / name).read_bytes() for name in build.ALL_FILES}
    mtimes = {name: (release_path(v1) / name).stat().st_mtime_ns for name in build.ALL_FILES}
    v2 = publish(scored.project, seed=99)
    assert (v1.version, v2.version) == (1, 2)
    assert release_path(v2) == export_dir / "demo" / "v2"
    for name in build.ALL_FILES:
        assert (release_path(v1) / name).read_bytes() == before[name]
        assert (release_path(v1) / name).stat().st_mtime_ns == mtimes[name]
    v1.refresh_from_db()
    assert release_verify(release=v1) == []


def test_a_published_release_row_cannot_change(export_dir, scored):
    release = publish(scored.project)
    release.seed = 123
    with pytest.raises(ValueError, match="published"):
        release.save()
    assert Release.objects.get(pk=release.pk).seed == scored.project.seed


def test_published_files_are_read_only(export_dir, scored):
    release = publish(scored.project)
    for name in build.ALL_FILES:
        assert not os.stat(release_path(release) / name).st_mode & 0o222


def test_a_build_that_fails_midway_leaves_no_release_visible(export_dir, scored, monkeypatch):
    calls = {"n": 0}
    original = files._write_prompt

    def explode(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 10:
            raise OSError("disk full")
        return original(*args, **kwargs)

    monkeypatch.setattr(files, "_write_prompt", explode)
    release = release_request(project=scored.project)
    with pytest.raises(OSError, match="disk full"):
        release_build(release=release)
    release.refresh_from_db()
    assert release.status == Release.Status.FAILED and release.version is None
    assert "disk full" in release.error
    assert not Release.objects.filter(status=Release.Status.READY).exists()
    assert list((export_dir / "demo").iterdir()) == []  # no version directory, no temp files

    monkeypatch.setattr(files, "_write_prompt", original)
    assert publish(scored.project).version == 1  # the failure burned no version number


def test_a_failure_while_publishing_leaves_no_directory(export_dir, scored, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("rename failed")

    release = release_request(project=scored.project)
    monkeypatch.setattr(publish_step, "os", SimpleNamespace(rename=refuse))
    with pytest.raises(OSError, match="rename failed"):
        release_build(release=release)
    assert list((export_dir / "demo").iterdir()) == []
    assert Release.objects.get(pk=release.pk).status == Release.Status.FAILED


def test_building_a_ready_release_again_changes_nothing(export_dir, scored):
    release = publish(scored.project)
    again = release_build(release=release)
    assert again.version == 1 and Release.objects.count() == 1


def test_no_prompt_and_no_cluster_is_on_both_sides(export_dir, scored):
    release = publish(scored.project)
    rows = read_jsonl(release_path(release) / "responses.jsonl")
    sides_by_prompt = defaultdict(set)
    for row in rows:
        sides_by_prompt[row["prompt_id"]].add(row["split"])
    assert all(len(s) == 1 for s in sides_by_prompt.values())
    clusters = defaultdict(set)
    for ext, cluster in Prompt.objects.filter(near_dup_cluster__isnull=False).values_list(
        "external_id", "near_dup_cluster"
    ):
        clusters[cluster] |= sides_by_prompt[ext]
    assert clusters and all(len(s) == 1 for s in clusters.values())
    for pref in read_jsonl(release_path(release) / "preferences.jsonl"):
        assert {pref["split"]} == sides_by_prompt[pref["prompt_id"]]
    for judgment in read_jsonl(release_path(release) / "judgments.jsonl"):
        assert {judgment["split"]} == sides_by_prompt[judgment["prompt_id"]]


def test_each_domain_test_share_is_within_one_prompt_of_the_target(export_dir, scored):
    release = publish(scored.project)
    prompts = defaultdict(dict)
    for row in read_jsonl(release_path(release) / "responses.jsonl"):
        prompts[row["domain"]][row["prompt_id"]] = row["split"]
    assert set(prompts) == {"chat", "code", "math"}
    for sides in prompts.values():
        test = sum(1 for s in sides.values() if s == "test")
        assert abs(test - 0.2 * len(sides)) <= 1


def test_holdout_domains_are_only_in_test(export_dir, scored):
    release = publish(scored.project, holdout_domains=["math"])
    rows = read_jsonl(release_path(release) / "responses.jsonl")
    assert {r["split"] for r in rows if r["domain"] == "math"} == {"test"}
    assert "train" in {r["split"] for r in rows if r["domain"] != "math"}
    manifest = json.loads((release_path(release) / "manifest.json").read_text())
    assert manifest["split"]["holdout_domains"] == ["math"]
    assert manifest["domain_coverage"]["math"]["holdout"] is True


def test_a_run_without_scores_cannot_be_released(project):
    AggregationRun.objects.create(project=project, status=AggregationRun.Status.DONE)
    with pytest.raises(ConflictError, match="gave no response a final score"):
        release_request(project=project)


def test_an_unknown_holdout_domain_is_refused(scored):
    with pytest.raises(ValidationProblems, match="no domain 'poetry'"):
        release_request(project=scored.project, holdout_domains=["poetry"])


def test_a_project_without_a_finished_run_cannot_be_released(project):
    with pytest.raises(ConflictError, match="no finished aggregation run"):
        release_request(project=project)
    AggregationRun.objects.create(project=project, status=AggregationRun.Status.RUNNING)
    with pytest.raises(ConflictError):
        release_request(project=project)


def test_the_files_load_with_pandas_and_pyarrow(export_dir, scored):
    release = publish(scored.project)
    directory = release_path(release)
    responses = pd.read_parquet(directory / "responses.parquet")
    assert len(responses) == 180 == release.counts["responses"]
    for column in (
        "prompt_id", "response_id", "prompt", "response", "domain", "split", "mean_usefulness",
        "mean_factuality", "mean_safety", "mean_alignment", "criterion_score", "borda", "final",
        "n_judgments", "flags",
    ):  # fmt: skip
        assert column in responses.columns
    assert responses.equals(
        pd.read_json(directory / "responses.jsonl", lines=True, dtype=False)[responses.columns]
    ) or len(pd.read_json(directory / "responses.jsonl", lines=True)) == len(responses)
    table = pq.read_table(directory / "preferences.parquet")
    assert table.num_rows == release.counts["preferences"] > 0
    judgments = pd.read_json(directory / "judgments.jsonl", lines=True)
    assert set(judgments["kind"]) == {"likert", "pairwise"}


def test_preference_rows_are_in_trl_format_and_chosen_outranks_rejected(export_dir, scored):
    release = publish(scored.project)
    prefs = pd.read_parquet(release_path(release) / "preferences.parquet")
    assert list(prefs.columns[:4]) == ["prompt", "chosen", "rejected", "margin"]
    finals = dict(
        ResponseScore.objects.filter(run=scored.run).values_list("response__external_id", "final")
    )
    ranks = dict(
        ResponseScore.objects.filter(run=scored.run).values_list("response__external_id", "rank")
    )
    for row in prefs.itertuples():
        assert finals[row.chosen_id] > finals[row.rejected_id] + 1e-6
        assert ranks[row.chosen_id] < ranks[row.rejected_id]
        assert row.margin == pytest.approx(finals[row.chosen_id] - finals[row.rejected_id])
    assert (prefs["margin"] > 0).all()


def test_tied_responses_give_no_preference_pair(export_dir, scored):
    prompt = scored.prompts[0]
    ResponseScore.objects.filter(run=scored.run, response__prompt=prompt).update(final=0.5)
    release = publish(scored.project)
    prefs = read_jsonl(release_path(release) / "preferences.jsonl")
    assert not [p for p in prefs if p["prompt_id"] == prompt.external_id]


def test_annotators_are_pseudonymous_and_stable_within_a_release_identity(
    export_dir, scored, settings
):
    a = publish(scored.project, seed=3)
    ids = {j["annotator"] for j in read_jsonl(release_path(a) / "judgments.jsonl")}
    assert len(ids) == 5 and all(i.startswith("ann_") for i in ids)
    text = (release_path(a) / "judgments.jsonl").read_text()
    assert "rater-" not in text
    other_seed = publish(scored.project, seed=4)
    assert ids.isdisjoint(
        {j["annotator"] for j in read_jsonl(release_path(other_seed) / "judgments.jsonl")}
    )
    settings.EXPORT_PSEUDONYM_SALT = "another-secret"
    other_salt = publish(scored.project, seed=3)
    assert ids.isdisjoint(
        {j["annotator"] for j in read_jsonl(release_path(other_salt) / "judgments.jsonl")}
    )


def test_the_manifest_records_provenance(export_dir, scored):
    release = publish(scored.project, seed=5)
    manifest = json.loads((release_path(release) / "manifest.json").read_text())
    assert manifest["run"]["id"] == scored.run.pk
    assert manifest["seeds"]["split"] == 5
    assert manifest["agreement"] == scored.run.agreement
    assert manifest["exclusions"] == scored.run.exclusions
    assert manifest["project"]["config"]["criteria"][0]["key"] == "usefulness"
    assert manifest["counts"]["responses"] == 180
    assert (
        manifest["counts"]["by_split"]["test"]["prompts"]
        + manifest["counts"]["by_split"]["train"]["prompts"]
        == 60
    )
    assert set(manifest["domain_coverage"]) == {"chat", "code", "math"}
    card = (release_path(release) / "README.md").read_text()
    assert "Demo" in card and f"aggregation run {scored.run.pk}" in card
