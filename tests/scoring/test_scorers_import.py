"""import_scores (DESIGN 6.1): external scores and judge verdicts, all or nothing."""

from __future__ import annotations

import json
from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from scoring.models import Scorer, ScorerScore, ScorerVerdict, ScoringRun
from tests.data_converters import pandalm_files, pandalm_verdict_rows

from .tiny_rms import project_with_responses

pytestmark = pytest.mark.django_db


def _judge(name: str, kind: str = "judge") -> Scorer:
    return Scorer.objects.create(name=name, kind=kind, backend="external")


def _jsonl(tmp_path, rows, name="scores.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _import(path, project="ext", scorer="judge") -> dict:
    out = StringIO()
    call_command(
        "import_scores", str(path), "--project", project, "--scorer", scorer, "--json", stdout=out
    )
    return json.loads(out.getvalue())


@pytest.fixture
def ext(db):
    project, responses = project_with_responses("ext")
    _judge("judge")
    return project, {r.external_id: r for r in responses}


def test_scores_and_verdicts_import_as_one_finished_run(ext, tmp_path):
    _, responses = ext
    path = _jsonl(
        tmp_path,
        [
            {"response_id": "p0-r0", "score": 0.25},
            {"response_id": "p0-r1", "score": -3},
            {
                "kind": "pairwise",
                "prompt_id": "p1",
                "response_a": "p1-r1",
                "response_b": "p1-r0",
                "choice": "a",
            },
        ],
    )
    result = _import(path)
    assert (result["created"], result["scores"], result["verdicts"]) == (True, 2, 1)
    run = ScoringRun.objects.get(pk=result["run_id"])
    assert run.status == "done" and run.trigger == "import"
    assert dict(run.scores.values_list("response__external_id", "score")) == {
        "p0-r0": 0.25,
        "p0-r1": -3.0,
    }
    verdict = ScorerVerdict.objects.get(run=run)
    # Stored in id order: p1-r0 first, so "a" (p1-r1 better) becomes "b".
    assert (verdict.response_a.external_id, verdict.response_b.external_id) == ("p1-r0", "p1-r1")
    assert verdict.choice == "b"


def test_reimporting_the_same_content_changes_nothing(ext, tmp_path):
    rows = [{"response_id": "p0-r0", "score": 1.5}, {"response_id": "p0-r1", "score": 2}]
    first = _import(_jsonl(tmp_path, rows))
    again = _import(_jsonl(tmp_path, list(reversed(rows)), name="again.jsonl"))
    assert again["created"] is False and again["run_id"] == first["run_id"]
    assert ScoringRun.objects.count() == 1 and ScorerScore.objects.count() == 2


def test_a_bad_file_is_rejected_whole_with_line_numbered_problems(ext, tmp_path):
    path = _jsonl(
        tmp_path,
        [
            {"response_id": "p0-r0", "score": 1.0},
            {"response_id": "nope", "score": 1.0},
            {"response_id": "p0-r0", "score": 2.0},
            {"response_id": "p0-r1", "score": "high"},
            '{"response_id": "p0-r2", "score": NaN}',
            '{"response_id": "p1-r0", "score": Infinity}',
            {"response_id": "p1-r1", "score": True},
            "not json",
            {
                "kind": "pairwise",
                "prompt_id": "p0",
                "response_a": "p0-r0",
                "response_b": "p1-r0",
                "choice": "a",
            },
            {
                "kind": "pairwise",
                "prompt_id": "p0",
                "response_a": "p0-r0",
                "response_b": "p0-r1",
                "choice": "left",
            },
        ],
    )
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command(
            "import_scores", str(path), "--project", "ext", "--scorer", "judge", stderr=err
        )
    assert "nothing was written (9 problems)" in str(caught.value)
    listed = err.getvalue()
    for expected in (
        "line 2, field 'response_id': no response 'nope'",
        "line 3, field 'response_id': 'p0-r0' is scored twice (first on line 1)",
        "line 4, field 'score': 'high' is not a number",
        "line 5, field 'score': nan is not finite",
        "line 6, field 'score': inf is not finite",
        "line 7, field 'score': True is not a number",
        "line 8, field '(json)': not valid JSON",
        "line 9, field 'response_b': 'p1-r0' answers prompt 'p1', not 'p0'",
        "line 10, field 'choice': 'left' is not 'a', 'b' or 'tie'",
    ):
        assert expected in listed
    assert not ScoringRun.objects.exists() and not ScorerScore.objects.exists()


def test_a_pair_judged_twice_in_either_order_is_a_problem(ext, tmp_path):
    pair = {"kind": "pairwise", "prompt_id": "p0", "choice": "tie"}
    path = _jsonl(
        tmp_path,
        [
            {**pair, "response_a": "p0-r0", "response_b": "p0-r1"},
            {**pair, "response_a": "p0-r1", "response_b": "p0-r0"},
        ],
    )
    with pytest.raises(CommandError):
        err = StringIO()
        call_command(
            "import_scores", str(path), "--project", "ext", "--scorer", "judge", stderr=err
        )
    assert "line 2, field 'response_b': this pair already has a verdict (line 1)" in err.getvalue()


def test_scores_of_a_computing_scorer_are_not_imported(ext, tmp_path):
    Scorer.objects.create(name="chars", kind="metric", backend="builtin", metric="length_chars")
    path = _jsonl(tmp_path, [{"response_id": "p0-r0", "score": 1.0}])
    with pytest.raises(CommandError, match="computes its scores"):
        call_command("import_scores", str(path), "--project", "ext", "--scorer", "chars")


GPT = {"1": "a", "2": "b", "Tie": "tie"}  # "garbage": the judge gave no verdict
PANDALM = {"1": "a", "2": "b", "0": "tie"}


@pytest.mark.slow
def test_pandalm_gpt35_and_pandalm7b_verdicts_import_as_two_judges(tmp_path):
    from annotation.services.imports import items_import
    from annotation.services.projects import project_create

    project = project_create(slug="pandalm", name="PandaLM", domains=[{"name": "general"}])
    items, _ = pandalm_files(tmp_path)
    items_import(project=project, source=items, on_duplicate="keep")
    expected = {}
    for name, mapping in (("gpt-3-5-turbo", GPT), ("pandalm-7b", PANDALM)):
        rows = pandalm_verdict_rows(name, mapping)
        _judge(name)
        result = _import(_jsonl(tmp_path, rows, f"{name}.jsonl"), project="pandalm", scorer=name)
        expected[name] = Counter(row["choice"] for row in rows)
        assert result["verdicts"] == len(rows) and result["scores"] == 0
    assert expected["gpt-3-5-turbo"] == {"a": 460, "b": 476, "tie": 38}  # 25 "garbage" left out
    assert expected["pandalm-7b"] == {"a": 433, "b": 459, "tie": 107}
    for name, counts in expected.items():
        stored = ScorerVerdict.objects.filter(run__scorer__name=name)
        assert stored.count() == sum(counts.values())
        # Every pair has response1 (imported first, lower id) as a: the choices are kept.
        assert Counter(stored.values_list("choice", flat=True)) == counts
