"""The vllm backend against the transformers backend on the same model (DESIGN 6.2).

Runs only on a host with a CUDA GPU and the `vllm` extra; elsewhere it is skipped with the
reason (this suite's CI machines have no GPU).
"""

from __future__ import annotations

import importlib.util

import pytest

from scoring.backends import Item, ScorerSpec, backend_cache_clear, directory_revision

from .tiny_rms import build_qwen3


def _why_not() -> str | None:
    if importlib.util.find_spec("vllm") is None:
        return "the vllm extra is not installed (pip install '.[vllm]' on a GPU host)"
    import torch

    if not torch.cuda.is_available():
        return "no CUDA GPU on this host"
    return None


pytestmark = pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))


def test_vllm_scores_match_the_transformers_backend(tmp_path):
    from scoring.backends.transformers_rm import TransformersBackend
    from scoring.backends.vllm_rm import VllmBackend

    backend_cache_clear()
    path = build_qwen3(tmp_path / "qwen3", heads=2, head_dim=64)
    items = [
        Item("What is the capital of France?", "Paris."),
        Item("What is the capital of France?", "The capital of France is Paris."),
        Item("Explain photosynthesis " * 10, "Plants turn light into sugar. " * 4),
        Item("Hi", ""),
    ]
    spec = ScorerSpec(
        name="q",
        backend="vllm",
        model_path=str(path),
        revision=directory_revision(path),
        dtype="float32",
        max_length=512,
    )
    expected = TransformersBackend(spec, device="cuda").score(items)
    got = VllmBackend(spec).score(items)
    for a, b in zip(got, expected, strict=True):
        assert a.tokens == b.tokens and a.truncated == b.truncated
        assert a.score == pytest.approx(b.score, abs=1e-3)
