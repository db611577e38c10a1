"""The transformers backend (DESIGN 6.2): tiny random Llama- and Qwen3-style reward models
built here, registered with scorer_apply and scored through `manage.py score` on
PostgreSQL, checked against an independent batch-size-1 forward pass."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from scoring.backends import Item, ScorerSpec, directory_revision
from scoring.backends.formatting import encode
from scoring.backends.transformers_rm import TransformersBackend
from scoring.models import ScorerScore, ScoringRun
from scoring.scoring_runs import scoring_run_chunk, scoring_run_start

from .tiny_rms import (
    conversation,
    definition,
    project_with_responses,
    reference_scores,
    write_definition,
)

TOLERANCE = 1e-4


def _spec(path, **extra) -> ScorerSpec:
    return ScorerSpec(
        name="t",
        backend="transformers",
        model_path=str(path),
        revision=directory_revision(path),
        **extra,
    )


def _score(project: str, scorer: str, *extra: str) -> dict:
    out = StringIO()
    call_command(
        "score",
        "--project",
        project,
        "--scorer",
        scorer,
        "--foreground",
        "--json",
        *extra,
        stdout=out,
        stderr=StringIO(),
    )
    return json.loads(out.getvalue())


@pytest.mark.django_db
@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_every_response_is_scored_once_and_equals_a_batch_size_one_forward_pass(
    arch, models, tmp_path
):
    project, responses = project_with_responses(f"rm-{arch}")
    call_command(
        "scorer_apply",
        str(write_definition(tmp_path, definition(models[arch], f"tiny-{arch}", batch_tokens=200))),
        stdout=StringIO(),
    )
    result = _score(project.slug, f"tiny-{arch}", "--chunk-size", "4")
    assert result["status"] == "done"
    assert result["scored"] == result["total"] == len(responses)
    assert result["device"] == "cpu" and result["dtype"] == "float32"
    assert result["versions"]["torch"] and result["versions"]["transformers"]
    rows = list(
        ScorerScore.objects.filter(run_id=result["run_id"]).values_list(
            "response_id", "score", "tokens", "truncated"
        )
    )
    assert sorted(r[0] for r in rows) == sorted(r.pk for r in responses)  # each exactly once
    stored = {pk: score for pk, score, _, _ in rows}
    expected = reference_scores(models[arch], [conversation(r) for r in responses])
    for response, want in zip(responses, expected, strict=True):
        assert stored[response.pk] == pytest.approx(want, abs=TOLERANCE)
    assert len({round(s, 3) for s in stored.values()}) > 1  # not a constant
    assert result["tokens"] == sum(r[2] for r in rows) > 0
    assert not any(r[3] for r in rows)


@pytest.mark.parametrize("arch", ["llama", "qwen3"])
def test_batched_scores_equal_batch_size_one_scores(arch, models):
    items = [
        Item(p, r)
        for p, rs in [
            ("What is the capital of France?", ["Paris.", "The capital of France is Paris."]),
            ("Explain photosynthesis " * 8, ["Plants turn light into sugar. " * 5, "sugar"]),
            ("Hi", ["Hello! " * 20, "", "- one\n- two"]),
        ]
        for r in rs
    ]
    batched_backend = TransformersBackend(_spec(models[arch], batch_tokens=4096))
    single_backend = TransformersBackend(_spec(models[arch], batch_tokens=1))
    batched = batched_backend.score(items)
    single = single_backend.score(items)
    for a, b in zip(batched, single, strict=True):
        assert a.score == pytest.approx(b.score, abs=TOLERANCE)
        assert a.tokens == b.tokens


def test_the_chat_template_is_applied_once_and_no_bos_is_doubled(models):
    backend = TransformersBackend(_spec(models["llama"]))
    tok = backend.tokenizer
    # The trap: this tokenizer prepends BOS to any text, and the template writes one too.
    assert tok("hi")["input_ids"][0] == tok.bos_token_id
    ids, _ = backend.encode(Item("What is the capital of France?", "Paris."))
    assert ids[0] == tok.bos_token_id and ids[1] != tok.bos_token_id
    assert ids.count(tok.bos_token_id) == 1
    messages = conversation_of("What is the capital of France?", "Paris.")
    assert ids == tok.apply_chat_template(messages, return_dict=True)["input_ids"]


def test_bos_handling_can_be_overridden_per_model(models):
    backend = TransformersBackend(_spec(models["llama"]))
    tok, bos = backend.tokenizer, backend.tokenizer.bos_token_id
    template = "<s>Q: {prompt}\nA: {response}"  # writes BOS, and the tokenizer adds one
    auto, _ = encode(tok, _spec(models["llama"], template=template), "q", "a")
    strip, _ = encode(tok, _spec(models["llama"], template=template, bos="strip"), "q", "a")
    add, _ = encode(tok, _spec(models["llama"], template="Q: {prompt}", bos="add"), "q", "a")
    assert auto[0] == bos and auto[1] != bos
    assert bos not in strip
    assert add[0] == bos and add.count(bos) == 1


def test_a_system_prompt_goes_through_the_chat_template(models):
    backend = TransformersBackend(_spec(models["qwen3"], system_prompt="Be brief."))
    ids, _ = backend.encode(Item("Hi", "Hello"))
    text = backend.tokenizer.decode(ids)
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi")


def test_a_tokenizer_without_a_pad_token_never_pads_with_eos(models):
    backend = TransformersBackend(_spec(models["llama"]))
    tok = backend.tokenizer
    assert tok.pad_token_id is None
    rows = [
        backend.encode(Item("Hi", "Hello"))[0],
        backend.encode(Item("Explain photosynthesis", "Plants make sugar. " * 4))[0],
    ]
    assert rows[0][-1] == tok.eos_token_id  # the template ends on EOS: pad = EOS would misread
    ids, mask = backend.collate(rows)
    padding = ids[mask == 0]
    assert padding.numel() > 0
    assert tok.eos_token_id not in padding.tolist()
    # Pooled by the mask: the short row's score is the one it gets alone.
    together = backend.forward(rows)
    assert together[0] == pytest.approx(backend.forward(rows[:1])[0], abs=TOLERANCE)


def test_a_real_pad_token_distinct_from_eos_is_used(models):
    backend = TransformersBackend(_spec(models["qwen3"]))
    tok = backend.tokenizer
    assert backend.pad_id == tok.pad_token_id != tok.eos_token_id


def test_too_long_inputs_lose_the_left_of_the_prompt_first(models):
    backend = TransformersBackend(_spec(models["llama"], max_length=40))
    prompt = "START " + "filler words here " * 30 + "the question END"
    ids, truncated = backend.encode(Item(prompt, "Paris is the answer."))
    text = backend.tokenizer.decode(ids)
    assert truncated and len(ids) <= 40
    assert "START" not in text
    assert "END" in text and "Paris is the answer." in text
    short, cut = backend.encode(Item("Hi", "Hello"))
    assert not cut and len(short) < 40


@pytest.mark.django_db
def test_truncated_rows_are_marked_in_the_run(models, tmp_path):
    long = "Please read all of this. " * 40
    project, responses = project_with_responses(
        "long", [(long, ["short answer"]), ("Hi", ["Hello"])]
    )
    call_command(
        "scorer_apply",
        str(write_definition(tmp_path, definition(models["llama"], "short-ctx", max_length=48))),
        stdout=StringIO(),
    )
    result = _score("long", "short-ctx")
    assert result["truncated"] == 1
    marked = dict(
        ScorerScore.objects.filter(run_id=result["run_id"]).values_list(
            "response__text", "truncated"
        )
    )
    assert marked == {"short answer": True, "Hello": False}


@pytest.mark.django_db
def test_a_rerun_after_an_interrupted_run_scores_only_what_is_missing(models, tmp_path):
    project, responses = project_with_responses("resume")
    call_command(
        "scorer_apply",
        str(write_definition(tmp_path, definition(models["qwen3"], "resumable"))),
        stdout=StringIO(),
    )
    from scoring.models import Scorer

    run, outcome = scoring_run_start(
        project=project, scorer=Scorer.objects.get(name="resumable"), chunk_size=4
    )
    assert outcome == "new" and len(run.chunks) == 3
    scoring_run_chunk(run_id=run.pk, index=0)
    first = dict(ScorerScore.objects.filter(run=run).values_list("response_id", "score"))
    assert len(first) == 4
    run.refresh_from_db()
    assert (run.status, run.scored, run.total) == ("running", 4, 9)
    assert run.tokens > 0 and run.tokens_per_s is not None
    scoring_run_chunk(run_id=run.pk, index=0)  # a redelivered chunk writes nothing twice
    assert ScorerScore.objects.filter(run=run).count() == 4
    result = _score("resume", "resumable")  # the rerun resumes the same run
    assert result["outcome"] == "resumed" and result["run_id"] == run.pk
    assert result["scored"] == 9 and result["status"] == "done"
    after = dict(ScorerScore.objects.filter(run=run).values_list("response_id", "score"))
    assert len(after) == 9 and all(after[pk] == s for pk, s in first.items())
    assert ScoringRun.objects.filter(scorer__name="resumable").count() == 1


def conversation_of(prompt: str, response: str) -> list[dict]:
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}]
