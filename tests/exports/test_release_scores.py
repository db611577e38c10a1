"""Scorers in releases (DESIGN 6.5, 7.1): scores.parquet and metaeval.json for the scorers a
release request names, pinned at request time, through the service, the API, the command and
the releases page. The project is the meta-evaluation tests' real path: judgments, an
aggregation run, the built-in ``chars`` and ``markdown`` scorers run with their probes."""

from __future__ import annotations

import json
import os
from io import StringIO

import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from annotation.services.projects import project_create
from exports.models import Release
from exports.services.build import (
    ALL_FILES,
    SCORES_FILES,
    release_build,
    release_path,
    release_request,
)
from exports.services.writers import file_sha256
from scoring.core.probes import FLATTERY, MARKDOWN_HEADING, PAD_TEMPLATES
from scoring.models import MetaEvaluation, NoiseCeiling, ProbeScore, Scorer, ScorerScore

from ..scoring.metaeval_records import measured_project

pytestmark = pytest.mark.django_db

BOTH = ["chars", "markdown"]


@pytest.fixture
def aggregation(db):
    return measured_project("demo")


@pytest.fixture
def project(aggregation):
    """The personas' project (the fixtures of lead_user etc. join it)."""
    return aggregation.project


def publish(project, **kwargs) -> Release:
    return release_build(release=release_request(project=project, **kwargs))


def read_jsonl(path):
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def pinned_scores(release: Release) -> list[dict]:
    """What scores.parquet must hold: the pinned runs' scores of the released responses."""
    released = {
        r["response_id"]: r["split"] for r in read_jsonl(release_path(release) / "responses.jsonl")
    }
    rows = []
    for name, run_id in release.scorers.items():
        for ext, score in ScorerScore.objects.filter(run_id=run_id).values_list(
            "response__external_id", "score"
        ):
            if ext in released:
                rows.append(
                    {"response_id": ext, "scorer": name, "score": score, "split": released[ext]}
                )
    return sorted(rows, key=lambda r: (r["scorer"], r["response_id"]))


def client_for(user):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


# --- The files --------------------------------------------------------------------------


def test_a_release_with_two_scorers_carries_their_scores_and_stored_metaevaluations(
    export_dir, aggregation
):
    release = publish(aggregation.project, scorers=BOTH)
    directory = release_path(release)
    assert release.status == Release.Status.READY
    assert sorted(os.listdir(directory)) == sorted([*ALL_FILES, *SCORES_FILES])

    expected = pinned_scores(release)
    assert {r["scorer"] for r in expected} == set(BOTH)
    assert len(expected) == 2 * release.counts["responses"]  # every released response, twice
    table = pq.read_table(directory / "scores.parquet")
    assert table.schema.names == ["response_id", "scorer", "score", "split"]
    assert str(table.schema.field("score").type) == "double"
    assert table.to_pylist() == expected
    assert read_jsonl(directory / "scores.jsonl") == expected

    doc = json.loads((directory / "metaeval.json").read_text())
    assert doc["aggregation_run"] == aggregation.pk
    assert sorted(doc["scorers"]) == BOTH
    for name in BOTH:
        record = MetaEvaluation.objects.get(
            scoring_run_id=release.scorers[name], aggregation_run=aggregation
        )
        entry = doc["scorers"][name]
        assert entry["scoring_run"] == release.scorers[name]
        assert entry["figures"] == record.figures
        assert entry["counts"] == record.counts
    ceiling = NoiseCeiling.objects.get(aggregation_run=aggregation)
    assert doc["noise_ceiling"]["figures"] == ceiling.figures
    # Keys sorted at every level.
    text = (directory / "metaeval.json").read_text()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_the_manifest_lists_both_files_with_checksums_and_counts(export_dir, aggregation):
    release = publish(aggregation.project, scorers=BOTH)
    directory = release_path(release)
    manifest = json.loads((directory / "manifest.json").read_text())
    rows = 2 * release.counts["responses"]
    for name in SCORES_FILES:
        meta = manifest["files"][name]
        assert meta["sha256"] == file_sha256(directory / name) == release.files[name]["sha256"]
    assert manifest["files"]["scores.parquet"]["rows"] == rows == release.counts["scores"]
    assert manifest["files"]["metaeval.json"]["rows"] == 2
    scorers = manifest["scores"]["scorers"]
    assert sorted(scorers) == BOTH
    assert scorers["chars"] == {
        "scoring_run": release.scorers["chars"],
        "rows": release.counts["responses"],
        "responses_without_score": 0,
    }


def test_the_dataset_card_lists_the_files_and_a_leaderboard_with_the_noise_ceiling(
    export_dir, aggregation
):
    release = publish(aggregation.project, scorers=BOTH)
    card = (release_path(release) / "README.md").read_text()
    assert "`scores.jsonl`, `scores.parquet`" in card and "`metaeval.json`" in card
    assert "config_name: scores" in card and "## Scorers" in card
    accuracy = MetaEvaluation.objects.get(scoring_run_id=release.scorers["chars"]).figures[
        "headline"
    ]["accuracy"]
    row = next(line for line in card.splitlines() if line.startswith("| chars |"))
    assert f"{accuracy['value']:.3f} [{accuracy['ci_low']:.3f}, {accuracy['ci_high']:.3f}]" in row
    assert any(line.startswith("| markdown |") for line in card.splitlines())
    assert "| *human noise ceiling* |" in card
    assert "probe" in card.lower() and "never released" in card


def test_rebuilding_a_release_with_scorers_is_byte_identical_even_when_the_first_build_computed_the_metaevaluations(
    export_dir, aggregation
):
    MetaEvaluation.objects.all().delete()
    NoiseCeiling.objects.all().delete()
    v1 = publish(aggregation.project, scorers=BOTH, seed=7)
    # The build computed and stored them; metaeval.json carries what was stored.
    assert MetaEvaluation.objects.filter(aggregation_run=aggregation).count() == 2
    doc = json.loads((release_path(v1) / "metaeval.json").read_text())
    stored = MetaEvaluation.objects.get(scoring_run_id=v1.scorers["chars"])
    assert doc["scorers"]["chars"]["figures"] == stored.figures

    v2 = publish(aggregation.project, scorers=BOTH, seed=7)
    assert v2.scorers == v1.scorers
    for name in [*ALL_FILES, *SCORES_FILES]:
        assert (release_path(v1) / name).read_bytes() == (release_path(v2) / name).read_bytes(), (
            name
        )


def test_a_release_without_scorers_has_neither_file(export_dir, aggregation):
    release = publish(aggregation.project)
    assert release.scorers == {}
    assert sorted(os.listdir(release_path(release))) == sorted(ALL_FILES)
    manifest = json.loads((release_path(release) / "manifest.json").read_text())
    assert "scores" not in manifest and "scores" not in release.counts
    card = (release_path(release) / "README.md").read_text()
    assert "scores.parquet" not in card and "## Scorers" not in card


def test_no_probe_score_perturbed_text_or_annotator_is_in_any_release_file(export_dir, aggregation):
    assert ProbeScore.objects.exists()  # the scorers' probes ran
    release = publish(aggregation.project, scorers=BOTH)
    directory = release_path(release)
    names = list(aggregation.project.external_annotators.values_list("external_id", flat=True))
    assert len(names) == 3
    for file in sorted(directory.iterdir()):
        data = file.read_bytes()
        for marker in (FLATTERY, MARKDOWN_HEADING, *PAD_TEMPLATES):
            assert marker.encode() not in data, (file.name, marker)
        if file.suffix == ".json" or file.name.startswith("scores"):
            for name in names:
                assert name.encode() not in data, (file.name, name)
    # Scores come from the real responses only: exactly the pinned runs' ScorerScores.
    assert pq.read_table(directory / "scores.parquet").to_pylist() == pinned_scores(release)


# --- Pinning ------------------------------------------------------------------------------


def _import(tmp_path, name, rows):
    path = tmp_path / f"{name}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    call_command(
        "import_scores", str(path), "--project", "demo", "--scorer", "judge", stdout=StringIO()
    )


def test_the_scoring_run_pinned_at_request_time_is_the_one_released(
    export_dir, aggregation, tmp_path
):
    Scorer.objects.create(name="judge", kind="judge", backend="external")
    ids = sorted(
        aggregation.project.responses.values_list("external_id", flat=True)
    )  # every response of the project
    _import(tmp_path, "first", [{"response_id": i, "score": float(k)} for k, i in enumerate(ids)])
    release = release_request(project=aggregation.project, scorers=["judge"])
    first = release.scorers["judge"]
    _import(tmp_path, "second", [{"response_id": i, "score": -1.0} for i in ids])
    assert aggregation.project.scoring_runs.filter(scorer__name="judge").count() == 2

    release = release_build(release=release)
    assert release.scorers == {"judge": first}
    scores = pq.read_table(release_path(release) / "scores.parquet").to_pylist()
    assert {r["score"] for r in scores} != {-1.0}
    assert scores == pinned_scores(release)
    doc = json.loads((release_path(release) / "metaeval.json").read_text())
    assert doc["scorers"]["judge"]["figures"]["scoring_run"]["id"] == first


# --- Bad scorers: named-field errors, nothing created ---------------------------------------


@pytest.fixture
def other_projects_scorer(db):
    other = project_create(slug="other", name="Other", domains=[{"name": "general"}])
    return Scorer.objects.create(
        name="theirs", kind="metric", backend="builtin", metric="length_words", project=other
    )


@pytest.mark.parametrize(
    ("scorers", "message"),
    [
        (["nope"], "no scorer 'nope'"),
        (["theirs"], "no scorer 'theirs'"),
        (["idle"], "scorer 'idle' has no finished scoring run"),
        (["chars", "nope"], "no scorer 'nope'"),
    ],
)
def test_bad_scorers_through_the_api_are_a_400_naming_the_field_and_create_nothing(
    lead_user, export_dir, other_projects_scorer, scorers, message
):
    Scorer.objects.create(name="idle", kind="metric", backend="builtin", metric="length_words")
    response = client_for(lead_user).post(
        "/api/v1/projects/demo/releases/create/", {"scorers": scorers}, format="json"
    )
    assert response.status_code == 400, response.data
    assert [p["field"] for p in response.data["problems"]] == ["scorers"]
    assert message in response.data["problems"][0]["message"]
    assert not Release.objects.exists()


def test_scorers_that_are_not_a_list_of_names_are_a_400(lead_user, export_dir):
    client = client_for(lead_user)
    for bad in ("chars", [["chars"]], [{"name": "chars"}]):
        response = client.post(
            "/api/v1/projects/demo/releases/create/", {"scorers": bad}, format="json"
        )
        assert response.status_code == 400 and "scorers" in response.data, bad
    assert not Release.objects.exists()


@pytest.mark.parametrize(
    ("scorer", "message"),
    [("nope", "no scorer 'nope'"), ("idle", "scorer 'idle' has no finished scoring run")],
)
def test_bad_scorers_through_the_command_fail_with_one_line_and_create_nothing(
    export_dir, aggregation, scorer, message
):
    Scorer.objects.create(name="idle", kind="metric", backend="builtin", metric="length_words")
    with pytest.raises(CommandError) as exc:
        call_command(
            "release", "--project", "demo", "--scorer", "chars", "--scorer", scorer,
            stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
    assert "\n" not in str(exc.value)
    assert "scorers: " in str(exc.value) and message in str(exc.value)
    assert not Release.objects.exists()


# --- The entries: command, API, page --------------------------------------------------------


def test_the_command_releases_repeated_scorers_and_prints_them(export_dir, aggregation):
    out = StringIO()
    call_command(
        "release", "--project", "demo", "--scorer", "markdown", "--scorer", "chars", "--json",
        stdout=out, stderr=StringIO(),
    )  # fmt: skip
    doc = json.loads(out.getvalue())
    release = Release.objects.get()
    assert doc["ok"] is True and doc["scorers"] == release.scorers
    assert sorted(doc["scorers"]) == BOTH
    assert set(SCORES_FILES) <= set(doc["files"])
    for name in SCORES_FILES:
        assert file_sha256(export_dir / "demo" / "v1" / name) == doc["files"][name]


@pytest.mark.parametrize(
    ("persona", "expected"),
    [
        ("lead_user", 202),
        ("researcher_user", 403),
        ("annotator_user", 403),
        ("outsider_user", 404),
        (None, 401),
    ],
)
def test_only_leads_request_a_release_with_scorers_through_the_api(
    request, export_dir, aggregation, monkeypatch, django_capture_on_commit_callbacks,
    persona, expected,
):  # fmt: skip
    queued = []
    monkeypatch.setattr("exports.tasks.release_build.delay", lambda *a: queued.append(a))
    user = request.getfixturevalue(persona) if persona else None
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(user).post(
            "/api/v1/projects/demo/releases/create/", {"scorers": BOTH}, format="json"
        )
    assert response.status_code == expected
    if expected != 202:
        assert not Release.objects.exists() and queued == []
        return
    release = Release.objects.get()
    pinned = {name: aggregation.project.scoring_runs.get(scorer__name=name).pk for name in BOTH}
    assert release.scorers == pinned and response.data["scorers"] == pinned
    assert queued == [(release.pk,)]


def test_a_release_lists_its_scorers_and_files_in_the_api(researcher_user, export_dir, aggregation):
    release = publish(aggregation.project, scorers=BOTH)
    data = client_for(researcher_user).get("/api/v1/projects/demo/releases/v1/").data
    assert data["scorers"] == release.scorers
    names = {f["name"]: f for f in data["files"]}
    assert names["metaeval.json"]["sha256"] == release.files["metaeval.json"]["sha256"]
    response = client_for(researcher_user).get(names["scores.parquet"]["url"])
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == (release_path(release) / "scores.parquet").read_bytes()


def test_the_schema_documents_the_scorers_of_a_release_request(db):
    import yaml

    spec = yaml.safe_load(APIClient().get("/api/v1/schema/").content)
    schemas = spec["components"]["schemas"]
    assert schemas["ReleaseRequest"]["properties"]["scorers"]["type"] == "array"
    assert "scorers" in schemas["Release"]["properties"]
    download = spec["paths"]["/api/v1/projects/{slug}/releases/{ref}/files/{name}"]["get"]
    name = next(p for p in download["parameters"] if p["name"] == "name")
    assert set(SCORES_FILES) <= set(name["schema"]["enum"])


def test_the_releases_page_offers_scorers_with_finished_runs_and_pins_the_chosen_ones(
    client, lead_user, export_dir, aggregation, monkeypatch, django_capture_on_commit_callbacks
):
    Scorer.objects.create(name="idle", kind="metric", backend="builtin", metric="length_words")
    monkeypatch.setattr("exports.tasks.release_build.delay", lambda *a: None)
    client.force_login(lead_user)
    html = client.get("/releases/p/demo/").content.decode()
    assert 'name="scorers" value="chars"' in html and 'name="scorers" value="markdown"' in html
    assert 'value="idle"' not in html  # no finished run: not offered
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/releases/p/demo/", {"seed": "3", "scorers": ["chars"]})
    assert response.status_code == 302
    release = Release.objects.get()
    assert release.scorers == {
        "chars": aggregation.project.scoring_runs.get(scorer__name="chars").pk
    }


def test_the_releases_page_says_what_is_wrong_with_a_scorer_and_creates_nothing(
    client, lead_user, export_dir, aggregation
):
    client.force_login(lead_user)
    response = client.post("/releases/p/demo/", {"seed": "3", "scorers": ["nope"]}, follow=True)
    assert response.status_code == 200
    assert "no scorer &#x27;nope&#x27;" in response.content.decode()
    assert not Release.objects.exists()
