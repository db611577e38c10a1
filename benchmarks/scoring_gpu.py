"""Reward-model scoring throughput on a GPU host: tokens/s and the share of the FLOP ceiling.

Random-weight models shaped like a 0.6B and an 8B reward model (Qwen3-0.6B and Qwen3-8B
configs with a one-output score head; nothing is downloaded), bf16, through the
transformers backend (length-sorted batches under a token budget, SDPA) and, where the
`vllm` extra is installed, the vllm backend (pooling runner, raw logits). Inputs are random
token ids of varied length (64 to 2,048), so the figures measure the model, not a tokenizer.

The ceiling: a forward pass costs about 2 x (non-embedding parameters) FLOPs per token
(Kaplan et al. 2020, ignoring attention's quadratic term), so the share is
tokens/s x 2 x N / peak, with the GPU's dense bf16 peak detected from its name or given
with --peak-tflops. Without a CUDA GPU it says so and measures nothing.

    .venv/bin/python benchmarks/scoring_gpu.py [--sizes 0.6b,8b] [--responses 2000] [--peak-tflops 989]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "scoring"))

# Dense bf16 tensor-core peaks (TFLOPS, without sparsity), from the vendors' data sheets.
PEAKS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0, "A10": 125.0}

SHAPES = {
    "0.6b": dict(hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                 num_attention_heads=16, num_key_value_heads=8, head_dim=128),
    "8b": dict(hidden_size=4096, intermediate_size=12288, num_hidden_layers=36,
               num_attention_heads=32, num_key_value_heads=8, head_dim=128),
}  # fmt: skip
VOCAB = 151936


def peak_tflops(torch, given: float | None) -> tuple[float | None, str]:
    name = torch.cuda.get_device_name(0)
    if given:
        return given, name
    for key, value in PEAKS.items():
        if key in name:
            return value, name
    return None, name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="0.6b,8b")
    parser.add_argument("--responses", type=int, default=2000)
    parser.add_argument("--batch-tokens", type=int, default=65536)
    parser.add_argument("--peak-tflops", type=float)
    parser.add_argument("--no-vllm", action="store_true")
    args = parser.parse_args()
    import numpy as np
    import torch

    if not torch.cuda.is_available():
        print("scoring_gpu: no CUDA GPU here; nothing measured (run it on a GPU host)")
        return
    from tiny_rms import build_qwen3
    from transformers import Qwen3Config, Qwen3ForSequenceClassification

    from scoring.backends import ScorerSpec
    from scoring.backends.transformers_rm import TransformersBackend

    peak, gpu = peak_tflops(torch, args.peak_tflops)
    rng = np.random.default_rng(0)
    lengths = rng.integers(64, 2048, size=args.responses)
    rows = [rng.integers(10, VOCAB - 10, size=int(n)).tolist() for n in lengths]
    real = int(lengths.sum())
    print(f"{gpu}; dense bf16 peak {peak or 'unknown'} TFLOPS; {len(rows)} inputs, {real:,} tokens")
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer_dir = build_qwen3(Path(tmp) / "tokenizer")  # a pad token for the backend
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir)
        for size in args.sizes.split(","):
            config = Qwen3Config(
                vocab_size=VOCAB, num_labels=1, pad_token_id=0, **SHAPES[size],
                max_position_embeddings=4096,
            )  # fmt: skip
            with torch.device("cuda"):
                model = Qwen3ForSequenceClassification(config).to(torch.bfloat16).eval()
            params = sum(p.numel() for p in model.parameters())
            non_embedding = params - model.get_input_embeddings().weight.numel()
            spec = ScorerSpec(
                name=size, backend="transformers", batch_tokens=args.batch_tokens, dtype="bfloat16"
            )
            backend = TransformersBackend(spec, device="cuda", model=model, tokenizer=tokenizer)
            from scoring.backends.batching import token_budget_batches

            batches = token_budget_batches(lengths.tolist(), args.batch_tokens)
            backend.forward(rows[:2])  # warm-up
            torch.cuda.synchronize()
            started = time.perf_counter()
            for batch in batches:
                backend.forward([rows[i] for i in batch])
            torch.cuda.synchronize()
            seconds = time.perf_counter() - started
            _report(f"{size} transformers bf16", real, seconds, non_embedding, peak)
            if not args.no_vllm:
                _vllm(size, model, tokenizer, rows, real, non_embedding, peak, Path(tmp))
            del backend, model
            torch.cuda.empty_cache()


def _report(name: str, tokens: int, seconds: float, non_embedding: int, peak: float | None):
    rate = tokens / seconds
    share = f"{rate * 2 * non_embedding / (peak * 1e12):.1%}" if peak else "unknown peak"
    print(
        f"  {name:<24} {seconds:8.2f} s  {rate:>12,.0f} tokens/s  "
        f"{non_embedding / 1e9:.2f}B non-embedding params  {share} of the bf16 ceiling"
    )


def _vllm(size, model, tokenizer, rows, tokens, non_embedding, peak, tmp: Path) -> None:
    try:
        from vllm import LLM, PoolingParams
        from vllm.inputs import TokensPrompt
    except ImportError:
        print(f"  {size} vllm: the vllm extra is not installed; skipped")
        return
    path = tmp / f"rm-{size}"
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    llm = LLM(model=str(path), runner="pooling", dtype="bfloat16", enable_prefix_caching=True)
    prompts = [TokensPrompt(prompt_token_ids=r) for r in rows]
    params = PoolingParams(use_activation=False)
    llm.classify(prompts[:2], pooling_params=params, use_tqdm=False)
    started = time.perf_counter()
    llm.classify(prompts, pooling_params=params, use_tqdm=False)
    _report(f"{size} vllm bf16", tokens, time.perf_counter() - started, non_embedding, peak)
    del llm


if __name__ == "__main__":
    main()
