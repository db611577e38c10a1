"""Scoring backends behind one small interface (``base.Backend``): builtin, transformers,
embedding, vllm. External scores are imported, not computed (scoring.external_scores).

``backend_load`` imports a backend's module only when a scorer of that backend is loaded,
so torch, transformers, sentence-transformers and vllm stay out of the web app.
"""

from __future__ import annotations

import importlib

from .base import Backend, BackendError, Item, Scored, ScorerSpec
from .revision import directory_revision

__all__ = [
    "Backend",
    "BackendError",
    "Item",
    "Scored",
    "ScorerSpec",
    "backend_cache_clear",
    "backend_load",
    "directory_revision",
    "revision_check",
]

_MODULES = {
    "builtin": ("builtin", "BuiltinBackend"),
    "transformers": ("transformers_rm", "TransformersBackend"),
    "embedding": ("embedding", "EmbeddingBackend"),
    "vllm": ("vllm_rm", "VllmBackend"),
}
MODEL_BACKENDS = ("transformers", "embedding", "vllm")

# The worker keeps the last loaded model: loading an 8B reward model takes tens of seconds
# and a chunk takes seconds, so reloading per chunk would dominate. One entry only, as a GPU
# holds one model; the key has the revision, so a re-registered scorer loads afresh.
# Tests reset it with backend_cache_clear().
_cache: dict[ScorerSpec, Backend] = {}


def backend_cache_clear() -> None:
    _cache.clear()


def revision_check(spec: ScorerSpec) -> None:
    """Refuses a model directory that is gone or whose files changed since registration."""
    try:
        now = directory_revision(spec.model_path)
    except FileNotFoundError:
        raise BackendError(
            f"scorer '{spec.name}': model directory {spec.model_path} does not exist here"
        ) from None
    if now != spec.revision:
        raise BackendError(
            f"scorer '{spec.name}': the files in {spec.model_path} changed since it was "
            f"registered (revision {spec.revision[:12]}, now {now[:12]}); re-register it with "
            "`manage.py scorer_apply FILE.json` to score with these files"
        )


def backend_load(spec: ScorerSpec) -> Backend:
    """The loaded backend of a scorer, from this process's cache when it is there."""
    loaded = _cache.get(spec)
    if loaded is not None:
        return loaded
    if spec.backend not in _MODULES:
        raise BackendError(
            f"scorer '{spec.name}': backend '{spec.backend}' computes nothing; "
            "its scores are imported with `manage.py import_scores`"
        )
    if spec.backend in MODEL_BACKENDS:
        revision_check(spec)
    module, cls = _MODULES[spec.backend]
    backend = getattr(importlib.import_module(f"{__name__}.{module}"), cls)(spec)
    _cache.clear()
    _cache[spec] = backend
    return backend
