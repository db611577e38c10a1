"""scorer_apply and the checks a scorer passes before it scores (DESIGN 6.1)."""

from __future__ import annotations

import json
import shutil
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from scoring.backends import directory_revision
from scoring.models import Scorer, ScorerScore

from .tiny_rms import build_llama, definition, project_with_responses, write_definition

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def llama_dir(tmp_path_factory):
    return build_llama(tmp_path_factory.mktemp("models") / "llama")


def _apply(file) -> dict:
    out = StringIO()
    call_command("scorer_apply", str(file), "--json", stdout=out)
    return json.loads(out.getvalue())


def _apply_error(file) -> str:
    with pytest.raises(CommandError) as caught:
        call_command("scorer_apply", str(file), stdout=StringIO(), stderr=StringIO())
    return str(caught.value)


def test_it_registers_a_reward_model_with_the_sha256_of_its_directory(tmp_path, llama_dir):
    result = _apply(write_definition(tmp_path, definition(llama_dir, "tiny-llama")))
    assert result["created"] is True
    scorer = Scorer.objects.get(name="tiny-llama")
    assert scorer.revision == directory_revision(llama_dir) == result["revision"]
    assert len(scorer.revision) == 64


def test_applying_the_same_definition_twice_changes_nothing(tmp_path, llama_dir):
    file = write_definition(tmp_path, definition(llama_dir, "tiny-llama", max_length=256))
    first = _apply(file)
    second = _apply(file)
    assert second["created"] is False
    assert first["id"] == second["id"] and first["revision"] == second["revision"]
    assert Scorer.objects.count() == 1
    updated = Scorer.objects.get().updated_at
    _apply(file)
    assert Scorer.objects.get().updated_at == updated  # not even touched


def test_a_relative_model_path_is_taken_from_the_definition_file(tmp_path, llama_dir):
    shutil.copytree(llama_dir, tmp_path / "models" / "rm")
    file = write_definition(tmp_path, definition("models/rm", "relative"))  # type: ignore[arg-type]
    _apply(file)
    assert Scorer.objects.get(name="relative").model_path == str((tmp_path / "models/rm").resolve())


def test_a_missing_model_path_is_a_one_line_error(tmp_path):
    message = _apply_error(write_definition(tmp_path, definition(tmp_path / "nowhere", "gone")))
    assert "\n" not in message
    assert "model_path" in message and "does not exist" in message
    assert not Scorer.objects.exists()


def test_a_causal_lm_is_refused_as_not_a_sequence_classifier(tmp_path, llama_dir):
    causal = tmp_path / "causal"
    shutil.copytree(llama_dir, causal)
    config = json.loads((causal / "config.json").read_text())
    config["architectures"] = ["LlamaForCausalLM"]
    (causal / "config.json").write_text(json.dumps(config))
    message = _apply_error(write_definition(tmp_path, definition(causal, "causal")))
    assert "\n" not in message
    assert "LlamaForCausalLM, not a sequence classifier" in message


def test_a_model_with_two_outputs_is_refused(tmp_path):
    two = build_llama(tmp_path / "two", num_labels=2)
    message = _apply_error(write_definition(tmp_path, definition(two, "two-heads")))
    assert "\n" not in message
    assert "has 2 outputs" in message and "exactly one" in message


def test_every_problem_of_a_definition_is_listed_with_its_field(tmp_path):
    body = {"name": "Bad Name!", "kind": "oracle", "backend": "builtin", "colour": "red"}
    with pytest.raises(CommandError) as caught:
        err = StringIO()
        call_command("scorer_apply", str(write_definition(tmp_path, body)), stderr=err)
    assert "nothing was written" in str(caught.value)
    listed = err.getvalue()
    for field in ("'colour'", "'name'", "'kind'"):
        assert field in listed
    assert not Scorer.objects.exists()


def test_a_builtin_scorer_needs_a_known_metric(tmp_path):
    body = {"name": "x", "kind": "metric", "backend": "builtin", "metric": "length_bytes"}
    message = _apply_error(write_definition(tmp_path, body))
    assert "metric" in message and "length_chars" in message


def test_scoring_with_an_unknown_scorer_is_a_one_line_error(tmp_path):
    project_with_responses("unknown")
    with pytest.raises(CommandError) as caught:
        call_command("score", "--project", "unknown", "--scorer", "nope", "--foreground")
    assert str(caught.value) == (
        "no scorer 'nope'; register it with `manage.py scorer_apply FILE.json`"
    )


def test_a_changed_model_directory_is_refused_until_it_is_registered_again(tmp_path, llama_dir):
    model = tmp_path / "rm"
    shutil.copytree(llama_dir, model)
    file = write_definition(tmp_path, definition(model, "drifting"))
    _apply(file)
    project_with_responses("drift")
    args = ["score", "--project", "drift", "--scorer", "drifting", "--foreground"]
    call_command(*args, stdout=StringIO(), stderr=StringIO())
    (model / "config.json").write_text((model / "config.json").read_text() + "\n")
    with pytest.raises(CommandError) as caught:
        call_command(*args, stdout=StringIO(), stderr=StringIO())
    message = str(caught.value)
    assert "\n" not in message
    assert "changed since it was registered" in message
    assert "scorer_apply FILE.json" in message
    _apply(file)  # re-registered: the new files are scored in a new run
    call_command(*args, stdout=StringIO(), stderr=StringIO())
    assert ScorerScore.objects.filter(run__scorer__name="drifting").count() == 2 * 9


def test_a_model_directory_gone_at_scoring_time_is_a_one_line_error(tmp_path, llama_dir):
    model = tmp_path / "rm"
    shutil.copytree(llama_dir, model)
    _apply(write_definition(tmp_path, definition(model, "vanishing")))
    shutil.rmtree(model)
    project_with_responses("gone")
    with pytest.raises(CommandError) as caught:
        call_command(
            "score", "--project", "gone", "--scorer", "vanishing", "--foreground", stderr=StringIO()
        )
    assert "\n" not in str(caught.value)
    assert "does not exist here" in str(caught.value)


def test_a_model_that_fails_to_load_fails_the_run_with_the_error_kept(tmp_path, llama_dir):
    from scoring.models import ScoringRun

    model = tmp_path / "broken"
    shutil.copytree(llama_dir, model)
    (model / "model.safetensors").write_bytes(b"not a safetensors file")
    _apply(write_definition(tmp_path, definition(model, "broken")))
    project_with_responses("broken")
    with pytest.raises(CommandError) as caught:
        call_command(
            "score", "--project", "broken", "--scorer", "broken", "--foreground", stderr=StringIO()
        )
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("scoring run ") and "failed: scorer 'broken': cannot load" in message
    run = ScoringRun.objects.get(scorer__name="broken")
    assert run.status == "failed" and "cannot load" in run.error
    assert not ScorerScore.objects.filter(run=run).exists()
