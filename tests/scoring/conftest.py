"""Shared by the scorer tests: the tiny reward models (built once per session, in the test
session itself: nothing is downloaded) and a clean per-process model cache around each test."""

import pytest

from .tiny_rms import build_llama, build_qwen3


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    from scoring.backends import backend_cache_clear

    backend_cache_clear()
    yield
    backend_cache_clear()


@pytest.fixture(scope="session")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("rms")
    return {"llama": build_llama(root / "llama"), "qwen3": build_qwen3(root / "qwen3")}
