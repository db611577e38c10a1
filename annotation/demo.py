"""The demo project that ``make dev`` and ``seed_demo`` create: assistant traffic in five
domains, each prompt with 2-4 responses of honestly different quality (a careful answer, a
terse one, one with a mistake, an overcautious refusal, one empty output), so rating them
means something.

The data lives beside this module in ``demo_data/``: ``project.json`` (a ``project_apply``
definition with a label for every point of every criterion), ``guidelines.md`` and
``items.jsonl`` (item import lines, DESIGN 4.4). This module reads them and synthesizes the
judgments of three imported raters.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "demo_data"
ITEMS_PATH = DATA_DIR / "items.jsonl"


def demo_definition() -> dict[str, Any]:
    """The demo project's ``project_apply`` definition, guidelines included."""
    definition = json.loads((DATA_DIR / "project.json").read_text(encoding="utf-8"))
    definition["guidelines"] = (DATA_DIR / "guidelines.md").read_text(encoding="utf-8")
    return definition


def demo_items() -> list[dict[str, Any]]:
    """The demo's item import lines: 5 domains, 60 prompts, 2-4 responses each."""
    with ITEMS_PATH.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


# How good each demo generator's answers are, per criterion (1-5): the careful model, the
# terse one, the one that gets things wrong, and the one that refuses everything.
_QUALITY = {
    "assistant-large": {"usefulness": 5, "factuality": 5, "safety": 5, "alignment": 5},
    "assistant-small": {"usefulness": 3, "factuality": 4, "safety": 5, "alignment": 3},
    "assistant-legacy": {"usefulness": 2, "factuality": 1, "safety": 4, "alignment": 2},
    "assistant-safe": {"usefulness": 1, "factuality": 3, "safety": 5, "alignment": 1},
}
DEMO_RATERS = ("demo-rater-1", "demo-rater-2", "demo-rater-3")
JUDGED_SHARE = 0.6


def demo_judgments(items: list[dict[str, Any]], *, seed: int = 0) -> list[dict[str, Any]]:
    """Judgments by three imported raters on the first 60% of each domain's prompts (the rest
    is left for the demo annotators), so the dashboard, agreement and releases have data.

    Ratings follow each generator's quality with rater noise; comparisons prefer the better
    response with some disagreement. Deterministic for a seed."""
    rng = random.Random(seed)
    by_domain: dict[str, list[dict[str, Any]]] = {}
    for item in items:
        by_domain.setdefault(item["domain"], []).append(item)
    lines: list[dict[str, Any]] = []
    for domain_items in by_domain.values():
        for item in domain_items[: round(JUDGED_SHARE * len(domain_items))]:
            responses = item["responses"]
            for rater in DEMO_RATERS:
                for r in responses:
                    base = _QUALITY[r["model"]]
                    ratings = {
                        k: min(5, max(1, v + rng.choice((-1, 0, 0, 0, 1)))) for k, v in base.items()
                    }
                    lines.append(
                        {
                            "kind": "likert",
                            "response_id": r["response_id"],
                            "annotator": rater,
                            "ratings": ratings,
                        }
                    )
                for i, first in enumerate(responses):
                    for second in responses[i + 1 :]:
                        # Shown in random order, as the annotator pages do.
                        a, b = (first, second) if rng.random() < 0.5 else (second, first)
                        qa, qb = (
                            sum(_QUALITY[a["model"]].values()),
                            sum(_QUALITY[b["model"]].values()),
                        )
                        roll = rng.random()
                        if roll < 0.1:
                            choice = "tie"
                        elif (qa >= qb) != (roll < 0.2):
                            choice = "a"
                        else:
                            choice = "b"
                        lines.append(
                            {
                                "kind": "pairwise",
                                "prompt_id": item["prompt_id"],
                                "response_a": a["response_id"],
                                "response_b": b["response_id"],
                                "annotator": rater,
                                "choice": choice,
                            }
                        )
    return lines
