"""Import benchmark: 15,000 prompts x 3 responses from one JSONL file into PostgreSQL.

Prints the time and peak memory of `items_import` (validation, exact-duplicate hashes,
MinHash near-duplicate clustering, bulk writes), and the same work done the naive way (one
ORM create per row, measured on 1,000 prompts and scaled) as the baseline.

    make bench            # or: bin/with-test-services .venv/bin/python benchmarks/import_items.py
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_setup  # noqa: E402

N_PROMPTS = int(os.environ.get("BENCH_PROMPTS", 15_000))
N_BASELINE = 1_000
TOPICS = [
    "python",
    "sql",
    "cooking",
    "travel",
    "finance",
    "health",
    "history",
    "physics",
    "poetry",
    "law",
]
VERBS = ["explain", "compare", "summarize", "critique", "outline", "simplify", "translate", "debug"]
WORDS = [
    "the",
    "a",
    "of",
    "to",
    "and",
    "in",
    "is",
    "that",
    "for",
    "it",
    "with",
    "as",
    "on",
    "be",
    "at",
    "by",
    "this",
    "have",
    "from",
    "or",
    "one",
    "had",
    "not",
    "but",
    "what",
    "all",
    "were",
    "when",
    "we",
    "there",
    "can",
    "an",
    "your",
    "which",
    "their",
    "said",
    "if",
    "do",
    "will",
    "each",
    "about",
    "how",
    "up",
    "out",
    "them",
    "then",
    "she",
    "many",
    "some",
    "so",
    "these",
    "would",
    "other",
    "into",
    "has",
    "more",
    "her",
    "two",
    "like",
    "him",
    "see",
    "time",
    "could",
    "no",
    "make",
    "than",
    "first",
    "been",
    "its",
    "who",
    "now",
]


def generate(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w") as fh:
        for i in range(n):
            words = " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 60)))
            prompt = f"Please {rng.choice(VERBS)} {rng.choice(TOPICS)} topic {i}: {words}?"
            line = {
                "prompt_id": f"p{i}",
                "prompt": prompt,
                "domain": f"d{i % 5}",
                "source": "real_user",
                "provenance": {"origin": "benchmark", "license": "CC0-1.0"},
                "responses": [
                    {
                        "response_id": f"p{i}-r{j}",
                        "text": " ".join(rng.choice(WORDS) for _ in range(rng.randint(40, 150))),
                        "model": f"model-{j}",
                    }
                    for j in range(3)
                ],
            }
            fh.write(json.dumps(line) + "\n")


def main() -> None:
    django_setup()
    from annotation.models import Prompt, Response
    from annotation.services.dedup import content_hash
    from annotation.services.imports import items_import
    from annotation.services.projects import project_apply

    domains = [{"name": f"d{k}"} for k in range(5)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "items.jsonl"
        generate(path, N_PROMPTS)
        size_mb = path.stat().st_size / 1e6

        project, _ = project_apply(definition={"slug": "bench-import", "domains": domains})
        Prompt.objects.filter(project=project).delete()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t0 = time.perf_counter()
        result = items_import(project=project, source=path)
        ours = time.perf_counter() - t0
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assert result.created == {"prompts": N_PROMPTS, "responses": 3 * N_PROMPTS}, result.created

        t0 = time.perf_counter()
        again = items_import(project=project, source=path)
        reimport = time.perf_counter() - t0
        assert again.created == {"prompts": 0, "responses": 0}

        # Baseline: the naive way, one ORM create per row, on the first N_BASELINE prompts.
        base, _ = project_apply(definition={"slug": "bench-import-naive", "domains": domains})
        Prompt.objects.filter(project=base).delete()
        dom = {d.name: d for d in base.domains.all()}
        lines = [json.loads(line) for _, line in zip(range(N_BASELINE), path.open(), strict=False)]
        t0 = time.perf_counter()
        for line in lines:
            prompt = Prompt.objects.create(
                project=base,
                domain=dom[line["domain"]],
                text=line["prompt"],
                external_id=line["prompt_id"],
                content_hash=content_hash(line["prompt"]),
                provenance=line["provenance"],
            )
            for r in line["responses"]:
                Response.objects.create(
                    project=base,
                    prompt=prompt,
                    text=r["text"],
                    external_id=r["response_id"],
                    model_name=r["model"],
                    content_hash=content_hash(r["text"]),
                )
        naive = (time.perf_counter() - t0) * N_PROMPTS / N_BASELINE

    print(
        f"import_items: {N_PROMPTS:,} prompts x 3 responses ({size_mb:.1f} MB JSONL) into PostgreSQL"
    )
    print(
        f"  ours:      {ours:6.2f} s  ({N_PROMPTS / ours:,.0f} prompts/s), max RSS {rss_after:.0f} MB (+{rss_after - rss_before:.0f} MB)"
    )
    print(f"  re-import: {reimport:6.2f} s  (nothing written)")
    print(
        f"  baseline:  {naive:6.2f} s  (one ORM create per row, {N_BASELINE:,} prompts measured, scaled; no dedup)"
    )
    print(f"  ratio:     {naive / ours:6.1f}x faster than the baseline")


if __name__ == "__main__":
    main()
