"""The rows of a release's data files (DESIGN 7.1): responses.jsonl/.parquet and the
preference pairs, written one prompt at a time from the run's score rows, and judgments.jsonl.

``files`` drives them and writes the rest (checksums, scores, manifest, card); it reads
``_write_prompt`` through its own module, so a test that patches ``files._write_prompt``
reaches the build.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from scoring.core.splits import TEST, TRAIN
from scoring.models import AggregationRun

from ... import selectors
from ..writers import JsonlWriter, finite_or_none, json_line
from .manifest import Pseudonym


def _flags(value: Any) -> list[str]:
    if not value:
        return []
    if not isinstance(value, list):
        value = [value]
    return [v if isinstance(v, str) else json_line(v).strip() for v in value]


def _by_prompt(rows: Iterator[tuple]) -> Iterator[list[tuple]]:
    """Consecutive score rows of one prompt (the query orders them by prompt)."""
    batch: list[tuple] = []
    current = None
    for row in rows:
        prompt_id = row[5]
        if batch and prompt_id != current:
            yield batch
            batch = []
        current = prompt_id
        batch.append(row)
    if batch:
        yield batch


def _write_prompt(batch, keys, assignment, tie_tolerance, responses, preferences, coverage) -> None:
    first = batch[0]
    prompt_pk, prompt_ext, prompt_text, domain = first[5], first[6], first[7], first[8]
    side = assignment.get(prompt_pk, TRAIN)
    cov = coverage.setdefault(
        domain,
        {
            f"{s}_{what}": 0
            for s in (TRAIN, TEST)
            for what in ("prompts", "responses", "preferences")
        },
    )
    cov[f"{side}_prompts"] += 1
    ranked = []
    for (
        _response_pk,
        response_ext,
        response_text,
        origin,
        model_name,
        _prompt_pk,
        _prompt_ext,
        _prompt_text,
        _domain,
        means,
        criterion_score,
        borda,
        final,
        final_source,
        rank,
        n_likert,
        n_pairwise,
        wins,
        flags,
    ) in batch:
        means = means or {}
        final = finite_or_none(final)
        row = {
            "prompt_id": prompt_ext,
            "response_id": response_ext,
            "prompt": prompt_text,
            "response": response_text,
            "domain": domain,
            "split": side,
            "origin": origin,
            "model_name": model_name,
            **{f"mean_{key}": finite_or_none(means.get(key)) for key in keys},
            "criterion_score": finite_or_none(criterion_score),
            "borda": finite_or_none(borda),
            "final": final,
            "final_source": final_source,
            "rank": rank,
            "n_likert": n_likert,
            "n_pairwise": n_pairwise,
            "n_judgments": n_likert + n_pairwise,
            "pairwise_wins": wins,
            "flags": _flags(flags),
        }
        responses.write(row)
        cov[f"{side}_responses"] += 1
        if final is not None:
            ranked.append((final, rank, response_ext, response_text))

    # Preference pairs: every pair of scored responses of the prompt whose finals differ by
    # more than the tie tolerance, the higher final chosen. Ties are left out rather than
    # broken, so a pair never teaches an order the humans did not express.
    ranked.sort(key=lambda r: (-r[0], r[1] if r[1] is not None else 1 << 30, r[2]))
    for i, (final_a, rank_a, id_a, text_a) in enumerate(ranked):
        for final_b, rank_b, id_b, text_b in ranked[i + 1 :]:
            margin = final_a - final_b
            if margin <= tie_tolerance:
                continue
            preferences.write(
                {
                    "prompt": prompt_text,
                    "chosen": text_a,
                    "rejected": text_b,
                    "margin": margin,
                    "prompt_id": prompt_ext,
                    "chosen_id": id_a,
                    "rejected_id": id_b,
                    "chosen_final": final_a,
                    "rejected_final": final_b,
                    "chosen_rank": rank_a,
                    "rejected_rank": rank_b,
                    "domain": domain,
                    "split": side,
                }
            )
            cov[f"{side}_preferences"] += 1


def _write_judgments(
    path: Path, run: AggregationRun, assignment: dict[int, str], pseudonym: Pseudonym
) -> dict[str, int]:
    writer = JsonlWriter(path)
    likert = pairwise = 0
    annotators: set[int] = set()
    try:
        for (
            prompt_pk,
            prompt_ext,
            response_ext,
            annotator_id,
            ratings,
            flags,
            duration,
            source,
            over,
        ) in selectors.run_likert_judgments(run=run):
            side = assignment.get(prompt_pk)
            if side is None:  # its prompt is not in the release (no score in the run)
                continue
            writer.write(
                {
                    "kind": "likert",
                    "prompt_id": prompt_ext,
                    "response_id": response_ext,
                    "annotator": pseudonym(annotator_id),
                    "ratings": {key: ratings[key] for key in sorted(ratings)},
                    "flags": _flags(flags),
                    "duration_ms": duration,
                    "source": source,
                    "over_quorum": over,
                    "split": side,
                }
            )
            likert += 1
            annotators.add(annotator_id)
        for (
            prompt_pk,
            prompt_ext,
            left,
            right,
            choice,
            annotator_id,
            flags,
            duration,
            source,
            over,
        ) in selectors.run_pairwise_judgments(run=run):
            side = assignment.get(prompt_pk)
            if side is None:
                continue
            writer.write(
                {
                    "kind": "pairwise",
                    "prompt_id": prompt_ext,
                    "left_id": left,
                    "right_id": right,
                    "choice": choice,
                    "annotator": pseudonym(annotator_id),
                    "flags": _flags(flags),
                    "duration_ms": duration,
                    "source": source,
                    "over_quorum": over,
                    "split": side,
                }
            )
            pairwise += 1
            annotators.add(annotator_id)
    finally:
        writer.close()
    return {
        "likert_judgments": likert,
        "pairwise_judgments": pairwise,
        "annotators": len(annotators),
    }
