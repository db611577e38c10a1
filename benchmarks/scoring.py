"""Scoring throughput on CPU: the transformers backend's length-sorted, token-budget batches
against a per-response loop and against fixed-size unsorted batches, same model, same run.

A tiny random Llama reward model (built here, nothing downloaded) scores 5,000 generated
responses of varied length (3 to 150 words). Prints tokens/s (real tokens: padding is not
counted), padding efficiency (real tokens / padded tokens) and the ratios, and checks that
the three strategies give the same scores (fp32: within 1e-4).

    .venv/bin/python benchmarks/scoring.py [--responses N]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "scoring"))

WORDS = [
    "the", "model", "answer", "question", "because", "python", "list", "sort", "capital",
    "france", "paris", "light", "water", "sugar", "plant", "rain", "garden", "roof", "silence",
    "sky", "helpful", "harmless", "honest", "explain", "step", "first", "then", "finally",
    "result", "value", "function", "return", "code", "example",
]  # fmt: skip


def responses(n: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    lengths = rng.integers(3, 150, size=n)
    prompts = [" ".join(rng.choice(WORDS, size=int(k))) + "?" for k in rng.integers(5, 40, size=50)]
    return [
        (prompts[i % 50], " ".join(rng.choice(WORDS, size=int(k)))) for i, k in enumerate(lengths)
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--responses", type=int, default=5000)
    parser.add_argument("--fixed-batch", type=int, default=32)
    args = parser.parse_args()
    import torch
    from tiny_rms import build_llama

    from scoring.backends import Item, ScorerSpec, directory_revision
    from scoring.backends.batching import padding_efficiency, token_budget_batches
    from scoring.backends.transformers_rm import TransformersBackend

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    rng = np.random.default_rng(0)
    pairs = responses(args.responses, rng)
    items = [Item(p, r) for p, r in pairs]
    with tempfile.TemporaryDirectory() as tmp:
        path = build_llama(Path(tmp) / "llama")
        spec = ScorerSpec(
            name="bench",
            backend="transformers",
            model_path=str(path),
            revision=directory_revision(path),
            max_length=512,
            batch_tokens=16384,
        )
        backend = TransformersBackend(spec)
        started = time.perf_counter()
        encoded = [backend.encode(item)[0] for item in items]
        encode_seconds = time.perf_counter() - started
        lengths = [len(ids) for ids in encoded]
        real = sum(lengths)
        print(
            f"{len(items)} responses, {real:,} tokens (per response: min {min(lengths)}, "
            f"median {int(np.median(lengths))}, max {max(lengths)}); tiny Llama RM, fp32, "
            f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}; chat template "
            f"and tokenization: {encode_seconds:.1f} s ({len(items) / encode_seconds:,.0f}/s)"
        )

        results = {}

        # All three strategies read the same token ids (tokenized once, timed apart), so
        # the figures compare batching alone.
        started = time.perf_counter()
        batches = token_budget_batches(lengths, spec.batch_tokens)
        out = np.empty(len(items))
        for batch in batches:
            out[batch] = backend.forward([encoded[i] for i in batch])
        seconds = time.perf_counter() - started
        results["worker: length-sorted, 16k-token budget"] = (
            seconds,
            padding_efficiency(lengths, batches),
            out,
        )
        end_to_end = backend.score(items[:500])  # the backend's own path: the same scores
        assert np.max(np.abs(np.array([s.score for s in end_to_end]) - out[:500])) < 1e-4

        started = time.perf_counter()
        loop = [backend.forward([ids])[0] for ids in encoded]
        seconds = time.perf_counter() - started
        results["per-response loop (batch size 1)"] = (seconds, 1.0, np.array(loop))

        fixed = [
            list(range(i, min(i + args.fixed_batch, len(items))))
            for i in range(0, len(items), args.fixed_batch)
        ]
        started = time.perf_counter()
        out = np.empty(len(items))
        for batch in fixed:
            out[batch] = backend.forward([encoded[i] for i in batch])
        seconds = time.perf_counter() - started
        results[f"fixed batches of {args.fixed_batch}, unsorted"] = (
            seconds,
            padding_efficiency(lengths, fixed),
            out,
        )

    base = results["worker: length-sorted, 16k-token budget"]
    print(
        f"{'strategy':<42} {'seconds':>8} {'tokens/s':>10} {'padding eff.':>12} {'worker is':>10}"
    )
    for name, (seconds, efficiency, scores) in results.items():
        ratio = seconds / base[0]
        print(
            f"{name:<42} {seconds:>8.2f} {real / seconds:>10,.0f} {efficiency:>12.3f} "
            f"{ratio:>9.2f}x"
        )
        gap = float(np.max(np.abs(scores - base[2])))
        assert gap < 1e-4, f"{name}: scores differ from the worker's by {gap}"
    print("scores of the three strategies agree within 1e-4 (fp32)")


if __name__ == "__main__":
    main()
