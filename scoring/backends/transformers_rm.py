"""Reward models as ``AutoModelForSequenceClassification`` (DESIGN 6.2).

Imports torch and transformers when a scorer is loaded, never at import time of the app.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from typing import Any

from .base import BackendError, Item, Scored, ScorerSpec
from .batching import token_budget_batches
from .formatting import encode


def torch_dtype(torch: Any, name: str, device: str) -> Any:
    """auto: bf16 on CUDA, fp32 on CPU (bf16 matmuls on CPU are slow and inexact)."""
    if name == "auto":
        return torch.bfloat16 if device.startswith("cuda") else torch.float32
    return getattr(torch, name)


def default_device(torch: Any) -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def device_label(torch: Any, device: str) -> str:
    if device.startswith("cuda"):
        return f"{device} ({torch.cuda.get_device_name(torch.device(device))})"
    return device


class TransformersBackend:
    """Length-sorted batches under the scorer's token budget, right-padded, pooled at each
    input's last real token by the attention mask, so the pad token never decides where the
    score is read and EOS never pads (RewardBench pads with EOS and, where the template ends
    in EOS, reads the wrong position). Batched scores equal batch-size-1 scores (fp32: 1e-4).
    """

    def __init__(
        self,
        spec: ScorerSpec,
        *,
        device: str | None = None,
        model: Any = None,
        tokenizer: Any = None,
    ):
        """Loads the scorer's directory; ``model`` and ``tokenizer`` given (benchmarks of
        random-weight models) are used as they are instead."""
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        import torch
        import transformers
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.spec = spec
        self.torch = torch
        self.device = device or default_device(torch)
        dtype = torch_dtype(torch, spec.dtype, self.device)
        self.dtype = str(dtype).removeprefix("torch.")
        self.versions = {"torch": torch.__version__, "transformers": transformers.__version__}
        try:
            if tokenizer is None:
                tokenizer = AutoTokenizer.from_pretrained(spec.model_path, local_files_only=True)
            if model is None:
                model = AutoModelForSequenceClassification.from_pretrained(
                    spec.model_path, local_files_only=True, dtype=dtype, attn_implementation="sdpa"
                )
        except Exception as exc:  # any failure to load is the directory's: say which
            raise BackendError(
                f"scorer '{spec.name}': cannot load {spec.model_path}: {str(exc).splitlines()[0]}"
            ) from exc
        self.tokenizer, self.model = tokenizer, model
        if self.model.config.num_labels != 1:
            raise BackendError(
                f"scorer '{spec.name}': the model has {self.model.config.num_labels} outputs; "
                "a reward model has exactly one (num_labels=1)"
            )
        self.model.to(self.device).eval()
        self.label = device_label(torch, self.device)
        tok = self.tokenizer
        self.real_pad = tok.pad_token_id is not None and tok.pad_token_id != tok.eos_token_id
        # Decoder reward models (Llama, Qwen, Gemma, ...) have a `score` head over every
        # position: we run it ourselves and read each row at its last real token, whatever
        # the pad id. Others need a real pad token, or batches of equal length.
        self.head = getattr(self.model, "score", None)
        self.base = getattr(self.model, self.model.base_model_prefix, None)
        self.pool_by_mask = self.head is not None and self.base is not None
        self.pad_id = self._pad_id()

    def _pad_id(self) -> int:
        tok = self.tokenizer
        if self.real_pad:
            return tok.pad_token_id
        special = {tok.eos_token_id, tok.bos_token_id}
        return next(i for i in range(len(tok)) if i not in special)

    def encode(self, item: Item) -> tuple[list[int], bool]:
        return encode(self.tokenizer, self.spec, item.prompt, item.response)

    def collate(self, rows: Sequence[Sequence[int]]) -> tuple[Any, Any]:
        """Right-padded input ids and their attention mask, on the model's device."""
        torch = self.torch
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, row in enumerate(rows):
            ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[i, : len(row)] = 1
        return ids.to(self.device), mask.to(self.device)

    def forward(self, rows: Sequence[Sequence[int]]) -> list[float]:
        """Raw scores of one batch of token id lists."""
        torch = self.torch
        ids, mask = self.collate(rows)
        with torch.inference_mode():
            if self.pool_by_mask:
                hidden = self.base(input_ids=ids, attention_mask=mask).last_hidden_state
                last = mask.sum(dim=1) - 1
                pooled = hidden[torch.arange(len(rows), device=hidden.device), last]
                logits = self.head(pooled)
            else:
                logits = self.model(input_ids=ids, attention_mask=mask).logits
        return logits[:, 0].float().cpu().double().tolist()

    def score(self, items: Sequence[Item]) -> list[Scored]:
        encoded = [self.encode(item) for item in items]
        lengths = [len(ids) for ids, _ in encoded]
        equal_length = not self.pool_by_mask and not self.real_pad
        out: list[Scored | None] = [None] * len(items)
        self.last_seconds = 0.0
        for batch in token_budget_batches(
            lengths, self.spec.batch_tokens, equal_length=equal_length
        ):
            started = time.perf_counter()
            scores = self.forward([encoded[i][0] for i in batch])
            self.last_seconds += time.perf_counter() - started
            for i, s in zip(batch, scores, strict=True):
                out[i] = Scored(s, lengths[i], encoded[i][1])
        return out  # type: ignore[return-value]
