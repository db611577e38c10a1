"""Convert the public human-annotation data in ../shared/data to Trenchcoat's import formats.

Used by tests (imports, aggregation, exports). Nothing here is copied into the repository:
the files are written to a test's tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import shared_data

NEWSROOM_CRITERIA = ["Informativeness", "Relevance", "Fluency", "Coherence"]
NEWSROOM_DEFINITION = {
    "name": "Newsroom human evaluation",
    "likert_quorum": 3,
    "pairwise_quorum": 3,
    "criteria": [
        {
            "key": c.lower(),
            "label": c,
            "weight": 0.25,
            "scale_min": 1,
            "scale_max": 5,
            "level": "ordinal",
        }
        for c in NEWSROOM_CRITERIA
    ],
    "domains": [{"name": "news"}],
}
PANDALM_DEFINITION = {
    "name": "PandaLM test set",
    "likert_quorum": 3,
    "pairwise_quorum": 3,
    "domains": [{"name": "general"}],
}
PANDALM_CHOICE = {1: "a", 2: "b", 0: "tie"}


def _write_jsonl(path: Path, rows) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def newsroom_files(tmp_path: Path) -> tuple[Path, Path]:
    """60 articles (prompts) x 7 system summaries (responses) = 420 responses; 3 Likert
    judgments per response on 4 criteria. The 3 rating slots are not fixed people in the
    source, so each slot is its own external annotator ("slot0".."slot2"), which is the
    matrix JUDGE-BENCH computed its alpha on (rows = slots)."""
    data = json.loads(shared_data("newsroom", "newsroom.json").read_text())
    prompts: dict[int, dict] = {}
    judgments = []
    for inst in data["instances"]:
        article_idx, system_rank = divmod(inst["id"] - 1, 7)
        summary, article = inst["instance"].split("### Source Article", 1)
        summary = summary.replace("### Generated Summary", "").strip()
        prompt = prompts.setdefault(
            article_idx,
            {
                "prompt_id": f"article-{article_idx:02d}",
                "prompt": "Summarize this news article.\n\n" + article.strip(),
                "domain": "news",
                "source": "curated",
                "provenance": {"origin": "newsroom-human-eval", "license": "Apache-2.0"},
                "responses": [],
            },
        )
        prompt["responses"].append(
            {
                "response_id": f"summary-{inst['id']:03d}",
                "text": summary,
                "origin": "model",
                "model": f"system-{system_rank}",
                "provenance": {"instance_id": inst["id"]},
            }
        )
        for slot in range(3):
            judgments.append(
                {
                    "kind": "likert",
                    "response_id": f"summary-{inst['id']:03d}",
                    "annotator": f"slot{slot}",
                    "ratings": {
                        c.lower(): inst["annotations"][c]["individual_human_scores"][slot]
                        for c in NEWSROOM_CRITERIA
                    },
                }
            )
    items = _write_jsonl(tmp_path / "newsroom_items.jsonl", [prompts[k] for k in sorted(prompts)])
    return items, _write_jsonl(tmp_path / "newsroom_judgments.jsonl", judgments)


def pandalm_files(tmp_path: Path) -> tuple[Path, Path]:
    """999 records, each a prompt with its two responses and three annotators' choices
    (1 = response1 better -> "a", 2 -> "b", 0 -> "tie"). Prompts repeat across model pairs,
    so import the items with on_duplicate="keep"."""
    records = json.loads(shared_data("pandalm", "testset-v1.json").read_text())
    items, judgments = [], []
    for rec in records:
        pid = f"pandalm-{rec['idx']}"
        model1, model2 = rec["cmp_key"].split("_", 1)
        text = rec["instruction"] + (f"\n\n{rec['input']}" if rec["input"] else "")
        items.append(
            {
                "prompt_id": pid,
                "prompt": text,
                "domain": "general",
                "source": "expert",
                "provenance": {
                    "origin": "pandalm-testset-v1",
                    "motivation_app": rec["motivation_app"],
                },
                "responses": [
                    {"response_id": f"{pid}-1", "text": _text(rec["response1"]), "model": model1},
                    {"response_id": f"{pid}-2", "text": _text(rec["response2"]), "model": model2},
                ],
            }
        )
        for k in (1, 2, 3):
            judgments.append(
                {
                    "kind": "pairwise",
                    "prompt_id": pid,
                    "response_a": f"{pid}-1",
                    "response_b": f"{pid}-2",
                    "annotator": f"annotator{k}",
                    "choice": PANDALM_CHOICE[rec[f"annotator{k}"]],
                }
            )
    return _write_jsonl(tmp_path / "pandalm_items.jsonl", items), _write_jsonl(
        tmp_path / "pandalm_judgments.jsonl", judgments
    )


PANDALM_JUDGES = {
    # scorer name: (file, field); verdicts "1" / "2" / "0" (PandaLM-7B) or "Tie" / "garbage".
    "gpt-3-5-turbo": ("gpt-3.5-turbo-testset-v1.json", "gpt_result"),
    "pandalm-7b": ("pandalm-7b-testset-v1.json", "pandalm_result"),
}
# The authors' compute_metrics.py maps "Tie" and "garbage" (no parseable verdict) to the tie
# class (../shared/data/pandalm/SOURCE.md).
PANDALM_VERDICT = {"1": "a", "2": "b", "0": "tie", "Tie": "tie", "garbage": "tie"}


def pandalm_verdict_rows(judge: str, mapping: dict[str, str] = PANDALM_VERDICT) -> list[dict]:
    """A PandaLM judge's verdicts as import_scores lines (pairwise), one per record whose
    verdict ``mapping`` knows (records it does not know are left out)."""
    file, key = PANDALM_JUDGES[judge]
    records = json.loads(shared_data("pandalm", file).read_text())
    return [
        {
            "kind": "pairwise",
            "prompt_id": f"pandalm-{r['idx']}",
            "response_a": f"pandalm-{r['idx']}-1",
            "response_b": f"pandalm-{r['idx']}-2",
            "choice": mapping[str(r[key])],
        }
        for r in records
        if str(r[key]) in mapping
    ]


def _text(value) -> str:
    """PandaLM stores a few outputs as JSON null or true; keep them as the text they were."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)
