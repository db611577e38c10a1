"""Reward models on vLLM's pooling runner (DESIGN 6.2): GPU hosts with the `vllm` extra.

Inputs are tokenized by the same code as the transformers backend (one chat template, no
doubled BOS, the prompt cut from the left) and handed over as ``TokensPrompt``s, grouped
by prompt so the prefix cache hits; ``use_activation=False`` keeps the raw logit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from .base import BackendError, Item, Scored, ScorerSpec
from .formatting import encode


class VllmBackend:
    def __init__(self, spec: ScorerSpec, *, device: str | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            import vllm
            from vllm import LLM
        except ImportError as exc:
            raise BackendError(
                f"scorer '{spec.name}': the vllm backend needs the `vllm` extra "
                "(pip install '.[vllm]') on a CUDA host"
            ) from exc
        if not torch.cuda.is_available():
            raise BackendError(f"scorer '{spec.name}': the vllm backend needs a CUDA GPU")
        import transformers

        self.spec = spec
        self.device = "cuda"
        self.dtype = "bfloat16" if spec.dtype == "auto" else spec.dtype
        self.label = f"cuda ({torch.cuda.get_device_name(0)})"
        self.versions = {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "vllm": vllm.__version__,
        }
        self.llm = LLM(
            model=spec.model_path,
            runner="pooling",
            dtype=self.dtype,
            enable_prefix_caching=True,
            max_model_len=spec.max_length,
        )
        self.tokenizer = self.llm.get_tokenizer()

    def score(self, items: Sequence[Item]) -> list[Scored]:
        from vllm import PoolingParams
        from vllm.inputs import TokensPrompt

        encoded = [encode(self.tokenizer, self.spec, i.prompt, i.response) for i in items]
        order = sorted(range(len(items)), key=lambda i: (items[i].prompt, i))
        prompts: list[Any] = [TokensPrompt(prompt_token_ids=encoded[i][0]) for i in order]
        outputs = self.llm.classify(
            prompts, pooling_params=PoolingParams(use_activation=False), use_tqdm=False
        )
        out: list[Scored | None] = [None] * len(items)
        for i, result in zip(order, outputs, strict=True):
            probs = result.outputs.probs
            if len(probs) != 1:
                raise BackendError(
                    f"scorer '{self.spec.name}': the model has {len(probs)} outputs; "
                    "a reward model has exactly one"
                )
            out[i] = Scored(float(probs[0]), len(encoded[i][0]), encoded[i][1])
        return out  # type: ignore[return-value]
