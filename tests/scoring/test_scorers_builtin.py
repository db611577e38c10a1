"""Built-in metrics (DESIGN 6.1): exact values, and a run over a project's responses."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from scoring.backends.builtin import length_chars, length_words, markdown_density
from scoring.models import ScorerScore, ScoringRun

from .tiny_rms import project_with_responses, write_definition


def test_length_chars_counts_code_points_not_bytes():
    assert length_chars("") == 0
    assert length_chars("héllo") == 5
    assert length_chars("日本語") == 3
    assert length_chars("👍🏽") == 2  # thumbs up + skin tone modifier: two code points


def test_length_words_counts_whitespace_separated_tokens():
    assert length_words("") == 0
    assert length_words("   ") == 0
    assert length_words("one two\tthree\nfour  five") == 5
    assert length_words("don't stop-me now") == 3


def test_markdown_density_is_the_share_of_structural_non_empty_lines():
    text = "# Title\n\nSome prose here.\n- one\n- two\n1. first\n| a | b |\n```\ncode\n```\n"
    # non-empty lines: 9; structural: heading, 2 bullets, ordered item, table row, 2 fences
    assert markdown_density(text) == pytest.approx(7 / 9)
    assert markdown_density("plain prose\nmore prose") == 0.0
    assert markdown_density("") == 0.0
    assert markdown_density("\n  \n") == 0.0
    assert markdown_density("#hashtag is not a heading\n-dash is not a bullet") == 0.0
    assert markdown_density("    # indented four spaces is code, not a heading") == 0.0
    assert markdown_density("~~~\nx\n~~~") == pytest.approx(2 / 3)


@pytest.mark.django_db
def test_builtin_scorers_score_every_response_once_with_exact_values(tmp_path):
    project, responses = project_with_responses("builtin")
    for metric in ("length_chars", "length_words", "markdown_density"):
        file = write_definition(
            tmp_path, {"name": metric, "kind": "metric", "backend": "builtin", "metric": metric}
        )
        call_command("scorer_apply", str(file), stdout=StringIO())
        out = StringIO()
        call_command(
            "score",
            "--project",
            "builtin",
            "--scorer",
            metric,
            "--foreground",
            "--json",
            "--chunk-size",
            "3",
            stdout=out,
            stderr=StringIO(),
        )
        result = json.loads(out.getvalue())
        assert result["status"] == "done"
        assert result["scored"] == result["total"] == len(responses)
        run = ScoringRun.objects.get(pk=result["run_id"])
        assert len(run.chunks) == 3  # 9 responses in chunks of 3
        stored = dict(ScorerScore.objects.filter(run=run).values_list("response_id", "score"))
        fn = {"length_chars": length_chars, "length_words": length_words}.get(
            metric, markdown_density
        )
        assert stored == {r.pk: fn(r.text) for r in responses}


@pytest.mark.django_db
def test_scoring_again_with_nothing_new_reuses_the_finished_run(tmp_path):
    project_with_responses("again")
    file = write_definition(
        tmp_path,
        {"name": "chars", "kind": "metric", "backend": "builtin", "metric": "length_chars"},
    )
    call_command("scorer_apply", str(file), stdout=StringIO())
    args = ["score", "--project", "again", "--scorer", "chars", "--foreground", "--json"]
    first, second = StringIO(), StringIO()
    call_command(*args, stdout=first, stderr=StringIO())
    call_command(*args, stdout=second, stderr=StringIO())
    a, b = json.loads(first.getvalue()), json.loads(second.getvalue())
    assert (a["outcome"], b["outcome"]) == ("new", "up_to_date")
    assert a["run_id"] == b["run_id"]
    assert ScorerScore.objects.filter(run_id=a["run_id"]).count() == a["total"]


@pytest.mark.django_db
def test_a_release_run_scores_only_that_releases_responses(tmp_path):
    from django.core.management import CommandError

    from exports.models import Release
    from scoring.models import AggregationRun, ResponseScore

    project, responses = project_with_responses("released")
    run = AggregationRun.objects.create(project=project, status="done")
    for response in responses[:4]:
        ResponseScore.objects.create(run=run, response=response, final=0.5)
    Release.objects.create(
        project=project, run=run, status="ready", version=2, seed=0, test_fraction=0.2
    )
    file = write_definition(
        tmp_path,
        {"name": "words", "kind": "metric", "backend": "builtin", "metric": "length_words"},
    )
    call_command("scorer_apply", str(file), stdout=StringIO())
    args = ["score", "--project", "released", "--scorer", "words", "--foreground"]
    out = StringIO()
    call_command(*args, "--release", "v2", "--json", stdout=out, stderr=StringIO())
    result = json.loads(out.getvalue())
    assert (result["release"], result["total"], result["scored"]) == ("v2", 4, 4)
    stored = set(
        ScorerScore.objects.filter(run_id=result["run_id"]).values_list("response_id", flat=True)
    )
    assert stored == {r.pk for r in responses[:4]}
    with pytest.raises(CommandError, match="^project 'released' has no release v9$"):
        call_command(*args, "--release", "v9", stderr=StringIO())
