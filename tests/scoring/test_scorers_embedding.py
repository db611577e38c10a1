"""embedding_relevance over the all-MiniLM-L6-v2 weights the metrics extra ships (offline)."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from scoring.backends import Item, ScorerSpec, directory_revision
from scoring.backends.embedding import MINILM_REVISION, EmbeddingBackend, shipped_minilm_path
from scoring.models import ScorerScore

from .tiny_rms import project_with_responses, write_definition

# (prompt, a relevant answer, an unrelated answer), written by hand.
PAIRS = [
    (
        "What is the capital of France?",
        "Paris is the capital of France.",
        "Photosynthesis converts light into chemical energy.",
    ),
    (
        "How do I sort a list in Python?",
        "Call sorted(my_list) or my_list.sort() to sort a Python list.",
        "The Eiffel Tower was finished in 1889.",
    ),
    (
        "Give me a recipe for pancakes.",
        "Mix flour, eggs and milk into a batter and fry it in a hot pan.",
        "Jupiter is the largest planet in the solar system.",
    ),
    (
        "Why is the sky blue?",
        "Air molecules scatter blue sunlight more than red light (Rayleigh scattering).",
        "A good resume lists your most recent job first.",
    ),
    (
        "What are the symptoms of the flu?",
        "Flu symptoms include fever, cough, sore throat and body aches.",
        "Use a torque wrench to tighten the wheel nuts of a car.",
    ),
]


def test_the_shipped_weights_are_the_pinned_ones():
    assert directory_revision(shipped_minilm_path()) == MINILM_REVISION


def test_a_relevant_answer_scores_above_an_unrelated_one():
    spec = ScorerSpec(
        name="minilm",
        backend="embedding",
        metric="embedding_relevance",
        model_path=shipped_minilm_path(),
        revision=MINILM_REVISION,
    )
    backend = EmbeddingBackend(spec)
    items = [Item(p, a) for p, rel, unrel in PAIRS for a in (rel, unrel)]
    scored = backend.score(items)
    for i in range(0, len(scored), 2):
        relevant, unrelated = scored[i], scored[i + 1]
        assert relevant.score > unrelated.score + 0.2
        assert -1.0 <= unrelated.score < relevant.score <= 1.0
        assert relevant.tokens > 0 and not relevant.truncated


@pytest.mark.django_db
def test_embedding_relevance_scores_a_project_through_the_command(tmp_path):
    project, responses = project_with_responses(
        "emb", [(p, [rel, unrel]) for p, rel, unrel in PAIRS]
    )
    body = {
        "name": "minilm-relevance",
        "kind": "metric",
        "backend": "embedding",
        "model_path": shipped_minilm_path(),
    }
    call_command("scorer_apply", str(write_definition(tmp_path, body)), stdout=StringIO())
    out = StringIO()
    call_command(
        "score",
        "--project",
        "emb",
        "--scorer",
        "minilm-relevance",
        "--foreground",
        "--json",
        stdout=out,
        stderr=StringIO(),
    )
    result = json.loads(out.getvalue())
    assert result["scored"] == len(responses) == 10
    assert result["versions"]["sentence_transformers"]
    scores = dict(
        ScorerScore.objects.filter(run_id=result["run_id"]).values_list(
            "response__external_id", "score"
        )
    )
    for i in range(len(PAIRS)):
        assert scores[f"p{i}-r0"] > scores[f"p{i}-r1"]
