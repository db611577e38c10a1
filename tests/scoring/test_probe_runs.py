"""Spurious-feature probes of scoring runs (DESIGN 6.4): sampled, perturbed, scored by the
run's own backend on a real Celery worker and in process, stored apart, never released."""

from __future__ import annotations

import json
import math
import shutil
from io import StringIO

import numpy as np
import pyarrow.parquet as pq
import pytest
from django.core.management import CommandError, call_command

from annotation.models import Response
from exports.services.build import release_build, release_path, release_request
from scoring.backends import backend_cache_clear
from scoring.core.probes import FLATTERY, PROBES, perturb, probe_effects, response_rng
from scoring.models import ProbeScore, Scorer, ScorerScore, ScoringRun
from scoring.probe_runs import probe_run_chunk, probe_sample_ids
from scoring.scoring_runs import scoring_run_chunk, scoring_run_start
from scoring.selectors import probe_arrays

from ..exports.factories import scored_project
from ..waiting import wait_until
from .conftest import scoring_worker_running
from .tiny_rms import (
    definition,
    project_with_responses,
    reference_scores,
    write_definition,
)

# Every response has a word, so that pad lengthens each one and truncate shortens each one.
PROSE = [
    ("Why is the sky blue?", ["Rayleigh scattering. Blue light scatters more.", "Because air."]),
    ("Name a prime number.", ["Seven is prime. So is eleven.", "2", "Thirteen, for example."]),
    ("How do I sort a list in Python?", ["Use sorted(items).", "```python\nitems.sort()\n```"]),
    ("Write a haiku about rain.", ["Soft rain on the roof\nthe garden drinks in silence"]),
]
LENGTH_CHARS = {"name": "chars", "kind": "metric", "backend": "builtin", "metric": "length_chars"}


def _register(tmp_path, body: dict) -> Scorer:
    call_command("scorer_apply", str(write_definition(tmp_path, body)), stdout=StringIO())
    return Scorer.objects.get(name=body["name"])


def _score(project: str, scorer: str, *extra: str) -> dict:
    out = StringIO()
    call_command(
        "score",
        "--project",
        project,
        "--scorer",
        scorer,
        "--json",
        *extra,
        stdout=out,
        stderr=StringIO(),
    )
    return json.loads(out.getvalue())


def _score_without_probes(project, scorer: Scorer, *, chunk_size: int = 4) -> ScoringRun:
    """A finished run whose probes were never scored, as a run made before probes existed:
    its chunks scored in process (the test's transaction holds back the after-commit queue)."""
    run, _ = scoring_run_start(project=project, scorer=scorer, chunk_size=chunk_size)
    for index in range(len(run.chunks)):
        scoring_run_chunk(run_id=run.pk, index=index)
    run.refresh_from_db()
    assert run.status == "done" and run.probe_status == "pending"
    return run


def _stored(run: ScoringRun) -> dict[tuple[int, str], float]:
    return {
        (pk, probe): score
        for pk, probe, score in ProbeScore.objects.filter(run=run).values_list(
            "response_id", "probe", "score"
        )
    }


def _length_chars_prefers_pad_and_never_truncate(run: ScoringRun, n: int) -> None:
    original, perturbed = probe_arrays(run)
    assert original.size == n and not np.isnan(original).any()
    assert all(not np.isnan(perturbed[p]).any() for p in PROBES)
    effects = probe_effects(original, perturbed, rng=np.random.default_rng(0), n_resamples=200)
    assert effects["pad"].prefers_perturbed.value == 1.0
    assert effects["pad"].prefers_perturbed.ci_low == 1.0
    assert effects["truncate"].prefers_perturbed.value == 0.0
    assert effects["truncate"].prefers_original.value == 1.0
    assert effects["flattery"].prefers_perturbed.value == 1.0  # a prefix only adds characters
    assert effects["pad"].mean_change.value > 0 > effects["truncate"].mean_change.value


# --- length_chars: the known answer -------------------------------------------------------


@pytest.mark.slow
def test_a_worker_scores_the_probes_after_the_last_chunk_and_length_chars_prefers_pad(
    scoring_worker, tmp_path
):
    project, responses = project_with_responses("probe-worker", PROSE)
    _register(tmp_path, LENGTH_CHARS)
    result = _score("probe-worker", "chars", "--chunk-size", "3")
    assert result["status"] == "done" and result["scored"] == len(responses) == 8
    # The command waited for the probe chunk that the run's last chunk queued.
    assert result["probes"] == {"status": "done", "sample": 200, "scored": 32, "error": ""}
    run = ScoringRun.objects.get(pk=result["run_id"])
    stored = _stored(run)
    assert sorted(stored) == sorted((r.pk, p) for r in responses for p in PROBES)
    for response in responses:
        for probe in PROBES:
            text = perturb(
                probe,
                response.prompt.text,
                response.text,
                rng=response_rng(project.seed, response.pk),
            )
            assert stored[(response.pk, probe)] == len(text)
    _length_chars_prefers_pad_and_never_truncate(run, len(responses))


@pytest.mark.slow
def test_score_on_a_finished_run_without_probes_queues_them_for_the_worker(
    scoring_worker, tmp_path
):
    project, responses = project_with_responses("probe-old", PROSE)
    scorer = _register(tmp_path, LENGTH_CHARS)
    run, _ = scoring_run_start(project=project, scorer=scorer)
    ScorerScore.objects.bulk_create(
        ScorerScore(run=run, response=r, score=len(r.text)) for r in responses
    )
    ScoringRun.objects.filter(pk=run.pk).update(status="done", scored=len(responses))
    result = _score("probe-old", "chars")
    assert result["outcome"] == "up_to_date" and result["run_id"] == run.pk
    assert result["probes"]["status"] == "done" and result["probes"]["scored"] == 32
    assert ProbeScore.objects.filter(run=run).count() == 32


@pytest.mark.slow
def test_score_stops_waiting_when_no_worker_comes_and_a_later_worker_finishes_the_run(
    transactional_db, tmp_path
):
    project, responses = project_with_responses("probe-stall", PROSE)
    _register(tmp_path, LENGTH_CHARS)
    with pytest.raises(CommandError) as stalled:
        _score("probe-stall", "chars", "--stall-seconds", "1.5")
    assert str(stalled.value).startswith(
        f"scoring run {ScoringRun.objects.get().pk}: no progress in 1.5 s; is a worker "
        "consuming the `scoring` queue?"
    )
    assert "The run stays queued" in str(stalled.value)
    run = ScoringRun.objects.get()
    assert run.status == "queued" and run.scored == 0
    with scoring_worker_running():
        # The chunks the command queued are still there for the worker that starts now.
        wait_until(
            lambda: ScoringRun.objects.filter(pk=run.pk, probe_status="done").exists(),
            "the queued run and its probes to finish",
            timeout=120.0,
        )
    run.refresh_from_db()
    assert run.status == "done" and run.scored == len(responses)
    result = _score("probe-stall", "chars", "--stall-seconds", "1.5")
    assert result["outcome"] == "up_to_date" and result["probes"]["scored"] == 32


@pytest.mark.django_db
def test_in_process_the_score_command_scores_the_probes_after_the_chunks(tmp_path):
    project, responses = project_with_responses("probe-here", PROSE)
    _register(tmp_path, LENGTH_CHARS)
    result = _score("probe-here", "chars", "--foreground", "--chunk-size", "2")
    assert result["status"] == "done"
    assert result["probes"] == {"status": "done", "sample": 200, "scored": 32, "error": ""}
    run = ScoringRun.objects.get(pk=result["run_id"])
    assert ProbeScore.objects.filter(run=run).count() == 4 * len(responses)
    assert ScorerScore.objects.filter(run=run).count() == len(responses)  # stored apart
    _length_chars_prefers_pad_and_never_truncate(run, len(responses))

    out = StringIO()
    call_command(
        "score",
        "--project",
        "probe-here",
        "--scorer",
        "chars",
        "--foreground",
        stdout=out,
        stderr=StringIO(),
    )
    assert "Probes (pad, markdown, flattery, truncate): done, 32 perturbed" in out.getvalue()


@pytest.mark.django_db
def test_score_on_a_finished_run_made_before_probes_scores_only_the_probes(tmp_path):
    project, responses = project_with_responses("probe-before", PROSE)
    run = _score_without_probes(project, _register(tmp_path, LENGTH_CHARS))
    scores = dict(ScorerScore.objects.filter(run=run).values_list("response_id", "score"))
    result = _score("probe-before", "chars", "--foreground")
    assert result["outcome"] == "up_to_date" and result["run_id"] == run.pk
    assert result["probes"]["status"] == "done" and result["probes"]["scored"] == 32
    assert dict(ScorerScore.objects.filter(run=run).values_list("response_id", "score")) == scores


@pytest.mark.django_db
def test_probe_arrays_are_none_until_the_probes_are_done(tmp_path):
    project, _ = project_with_responses("probe-none", PROSE)
    run = _score_without_probes(project, _register(tmp_path, LENGTH_CHARS))
    assert probe_arrays(run) is None
    probe_run_chunk(run_id=run.pk)
    run.refresh_from_db()
    original, perturbed = probe_arrays(run)
    assert set(perturbed) == set(PROBES) and original.shape == perturbed["pad"].shape == (8,)


@pytest.mark.django_db
def test_probe_arrays_hold_nan_where_a_perturbed_score_is_missing(tmp_path):
    project, responses = project_with_responses("probe-gap", PROSE)
    run = _score_without_probes(project, _register(tmp_path, LENGTH_CHARS))
    probe_run_chunk(run_id=run.pk)
    run.refresh_from_db()
    first = min(r.pk for r in responses)
    ProbeScore.objects.filter(run=run, response_id=first, probe="markdown").delete()
    original, perturbed = probe_arrays(run)
    assert np.isnan(perturbed["markdown"][0]) and not np.isnan(perturbed["markdown"][1:]).any()
    assert original[0] == len(Response.objects.get(pk=first).text)
    effects = probe_effects(original, perturbed)
    assert effects["markdown"].n_excluded == 1 and effects["pad"].n_excluded == 0


# --- The sample -----------------------------------------------------------------------------


def _many_responses(slug: str, n: int = 30):
    answers = [f"Answer number {i}. It has a second sentence." for i in range(n)]
    return project_with_responses(slug, [("Tell me something.", answers)])


def _probe_again(run: ScoringRun, *, seed: int) -> set[int]:
    ProbeScore.objects.filter(run=run).delete()
    ScoringRun.objects.filter(pk=run.pk).update(probe_status="pending")
    type(run.project).objects.filter(pk=run.project_id).update(seed=seed)
    assert probe_run_chunk(run_id=run.pk)["probe_status"] == "done"
    return {pk for pk, _ in _stored(run)}


@pytest.mark.django_db
def test_the_sample_is_the_same_for_the_same_seed_and_another_for_another(tmp_path):
    project, responses = _many_responses("probe-sample")
    run = _score_without_probes(project, _register(tmp_path, LENGTH_CHARS), chunk_size=7)
    ScoringRun.objects.filter(pk=run.pk).update(probe_sample=5)
    first = _probe_again(run, seed=1)
    assert len(first) == 5 and first <= {r.pk for r in responses}
    assert ProbeScore.objects.filter(run=run).count() == 5 * 4
    assert _probe_again(run, seed=1) == first
    assert _probe_again(run, seed=2) != first
    run.refresh_from_db()
    assert set(probe_sample_ids(run).tolist()) == _probe_again(run, seed=2)


@pytest.mark.django_db
def test_a_negative_project_seed_still_draws_a_sample(tmp_path):
    project, _ = _many_responses("probe-negative")
    run = _score_without_probes(project, _register(tmp_path, LENGTH_CHARS), chunk_size=10)
    ScoringRun.objects.filter(pk=run.pk).update(probe_sample=4)
    assert len(_probe_again(run, seed=-3)) == 4


# --- Redelivery ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_redelivered_probe_chunk_writes_nothing_twice(tmp_path):
    project, responses = project_with_responses("probe-again", PROSE)
    run = _score_without_probes(project, _register(tmp_path, LENGTH_CHARS))
    assert probe_run_chunk(run_id=run.pk) == {
        "run_id": run.pk,
        "probe_status": "done",
        "scored": 32,
    }
    before = _stored(run)
    # Delivered again after its commit (the worker died before acking): nothing to do.
    assert probe_run_chunk(run_id=run.pk)["scored"] == 0
    assert _stored(run) == before
    # Delivered again while running, part stored (two deliveries racing): only the rest.
    half = [r.pk for r in responses][: len(responses) // 2]
    ProbeScore.objects.filter(run=run, response_id__in=half, probe__in=["pad", "truncate"]).delete()
    ScoringRun.objects.filter(pk=run.pk).update(probe_status="running")
    assert probe_run_chunk(run_id=run.pk)["scored"] == 2 * len(half)
    assert _stored(run) == before
    assert ProbeScore.objects.filter(run=run).count() == 4 * len(responses)


@pytest.mark.django_db
def test_a_probe_chunk_for_a_run_still_scoring_does_nothing(tmp_path):
    project, _ = project_with_responses("probe-early", PROSE)
    scorer = _register(tmp_path, LENGTH_CHARS)
    run, _ = scoring_run_start(project=project, scorer=scorer, chunk_size=2)
    scoring_run_chunk(run_id=run.pk, index=0)
    result = probe_run_chunk(run_id=run.pk)
    assert result["probe_status"] == "pending" and result["scored"] == 0
    assert not ProbeScore.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_a_probe_chunk_for_a_deleted_run_is_logged_not_raised():
    assert probe_run_chunk(run_id=987654321)["probe_status"] == "missing"


# --- Not applicable ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_an_external_scorers_imported_run_has_no_probes(tmp_path):
    project_with_responses("probe-ext", PROSE)
    Scorer.objects.create(name="judge", kind="judge", backend="external")
    lines = tmp_path / "scores.jsonl"
    lines.write_text(json.dumps({"response_id": "p0-r0", "score": 0.5}) + "\n")
    out = StringIO()
    call_command(
        "import_scores",
        str(lines),
        "--project",
        "probe-ext",
        "--scorer",
        "judge",
        "--json",
        stdout=out,
    )
    run = ScoringRun.objects.get(pk=json.loads(out.getvalue())["run_id"])
    assert run.probe_status == "n/a"
    assert probe_run_chunk(run_id=run.pk)["probe_status"] == "n/a"
    assert not ProbeScore.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_an_external_run_left_pending_is_marked_not_applicable(tmp_path):
    project, responses = project_with_responses("probe-ext-old", PROSE)
    judge = Scorer.objects.create(name="old-judge", kind="judge", backend="external")
    run = ScoringRun.objects.create(project=project, scorer=judge, status="done")
    ScorerScore.objects.create(run=run, response=responses[0], score=1.0)
    assert probe_run_chunk(run_id=run.pk)["probe_status"] == "n/a"
    run.refresh_from_db()
    assert run.probe_status == "n/a" and not ProbeScore.objects.filter(run=run).exists()


@pytest.mark.django_db
def test_a_run_over_no_responses_has_no_probes(tmp_path):
    project_with_responses("probe-empty", [])
    result = _score("probe-empty", _register(tmp_path, LENGTH_CHARS).name, "--foreground")
    assert result["status"] == "done" and result["total"] == 0
    assert result["probes"]["status"] == "n/a" and result["probes"]["scored"] == 0


# --- A reward model ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db
def test_a_reward_models_probe_scores_equal_scoring_the_perturbed_texts_directly(models, tmp_path):
    project, responses = project_with_responses("probe-rm")
    _register(tmp_path, definition(models["llama"], "probe-llama", batch_tokens=256))
    result = _score("probe-rm", "probe-llama", "--foreground", "--chunk-size", "4")
    assert result["probes"]["status"] == "done"
    run = ScoringRun.objects.get(pk=result["run_id"])
    stored = _stored(run)
    assert len(stored) == 4 * len(responses)
    keys, conversations = [], []
    for response in responses:
        for probe in PROBES:
            text = perturb(
                probe,
                response.prompt.text,
                response.text,
                rng=response_rng(project.seed, response.pk),
            )
            keys.append((response.pk, probe))
            conversations.append(
                [
                    {"role": "user", "content": response.prompt.text},
                    {"role": "assistant", "content": text},
                ]
            )
    expected = reference_scores(models["llama"], conversations)
    for key, want in zip(keys, expected, strict=True):
        assert stored[key] == pytest.approx(want, abs=1e-4), key
    originals = dict(ScorerScore.objects.filter(run=run).values_list("response_id", "score"))
    changed = [stored[(r.pk, "flattery")] - originals[r.pk] for r in responses]
    assert any(abs(c) > 1e-3 for c in changed)  # the model reads the perturbed text


@pytest.mark.slow
@pytest.mark.django_db
def test_a_broken_model_directory_fails_the_probes_and_leaves_the_run_done(models, tmp_path):
    model_dir = tmp_path / "llama-copy"
    shutil.copytree(models["llama"], model_dir)
    project, responses = project_with_responses("probe-broken", PROSE)
    run = _score_without_probes(project, _register(tmp_path, definition(model_dir, "fragile")))
    weights = next(model_dir.glob("*.safetensors"))
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])  # a copy cut short
    backend_cache_clear()  # a fresh worker process loads the model from its directory
    assert probe_run_chunk(run_id=run.pk)["probe_status"] == "failed"
    run.refresh_from_db()
    assert run.status == "done" and run.error == ""
    assert run.probe_status == "failed" and "changed since it was registered" in run.probe_error
    assert ScorerScore.objects.filter(run=run).count() == len(responses)
    assert not ProbeScore.objects.filter(run=run).exists()

    # `score` refuses the changed files, and once they are back it scores only the probes.
    with pytest.raises(CommandError, match="changed since it was registered"):
        _score("probe-broken", "fragile", "--foreground")
    run.refresh_from_db()
    assert run.status == "done" and run.probe_status == "failed"
    weights.write_bytes(good)
    retried = _score("probe-broken", "fragile", "--foreground")
    assert retried["run_id"] == run.pk and retried["outcome"] == "up_to_date"
    assert retried["probes"] == {"status": "done", "sample": 200, "scored": 32, "error": ""}


# --- Never released ---------------------------------------------------------------------------


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def _release_files(directory):
    """(name, leaf values, raw text) of every file of a release, whatever files it holds."""
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            rows = pq.read_table(path).to_pylist()
            yield path.name, list(_leaves(rows)), json.dumps(rows, default=str)
        elif path.suffix == ".jsonl":
            text = path.read_text(encoding="utf-8")
            rows = [json.loads(line) for line in text.splitlines()]
            yield path.name, list(_leaves(rows)), text
        elif path.suffix == ".json":
            text = path.read_text(encoding="utf-8")
            yield path.name, list(_leaves(json.loads(text))), text
        else:
            yield path.name, [], path.read_text(encoding="utf-8")


@pytest.mark.slow
def test_a_release_carries_no_perturbed_text_and_no_probe_score(
    project, models, tmp_path, settings
):
    settings.EXPORT_DIR = tmp_path / "releases"
    scored = scored_project(project, n_prompts=12)
    _register(tmp_path, definition(models["llama"], "released-rm"))
    result = _score(project.slug, "released-rm", "--foreground")
    assert result["probes"]["status"] == "done"
    run = ScoringRun.objects.get(pk=result["run_id"])
    originals = set(ScorerScore.objects.filter(run=run).values_list("score", flat=True))
    probe_scores = {s for s in _stored(run).values() if s not in originals}
    assert len(probe_scores) > 30
    texts, fillers = set(), set()
    for response in scored.responses:
        for probe in PROBES:
            text = perturb(
                probe,
                response.prompt.text,
                response.text,
                rng=response_rng(project.seed, response.pk),
            )
            if text != response.text:
                texts.add(text)
            if probe == "pad":
                fillers.add(text[len(response.text) :].strip())
    release = release_build(release=release_request(project=project))
    assert release.status == "ready"
    names = []
    for name, leaves, raw in _release_files(release_path(release)):
        names.append(name)
        assert FLATTERY not in raw, name
        assert not any(filler in raw for filler in fillers), name
        assert not any(isinstance(v, str) and v in texts for v in leaves), name
        floats = {v for v in leaves if isinstance(v, float) and math.isfinite(v)}
        assert not floats & probe_scores, name
    assert {"responses.jsonl", "responses.parquet", "manifest.json"} <= set(names)
