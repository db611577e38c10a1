"""Human preference pairs from one aggregation run (DESIGN 6.3).

A pair is (prompt, response a, response b) with a label A, B or TIE (the order of
``scoring.core.aggregate.OUTCOMES``) and the vote share of a (tie votes count one half),
which the calibration figures use as a soft label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

A, B, TIE = 0, 1, 2
KINDS = ("voted", "score_derived")


@dataclass(frozen=True)
class Pairs:
    """Labelled pairs; indices ``a``, ``b`` are positions in the caller's response arrays.

    excluded: pairs left out (voted: no strict plurality), counted for the report."""

    kind: str
    prompt: np.ndarray
    a: np.ndarray
    b: np.ndarray
    label: np.ndarray
    share_a: np.ndarray
    excluded: int = 0

    def __len__(self) -> int:
        return int(self.label.size)

    def subset(self, keep: np.ndarray) -> Pairs:
        keep = np.asarray(keep, dtype=bool)
        return Pairs(
            kind=self.kind,
            prompt=self.prompt[keep],
            a=self.a[keep],
            b=self.b[keep],
            label=self.label[keep],
            share_a=self.share_a[keep],
            excluded=self.excluded,
        )


def plurality(counts: np.ndarray) -> np.ndarray:
    """Index of the category with strictly more votes than each other category, -1 where
    the top count is shared (a 1-1 split, a-b-tie) or a row has no votes. Unlike a strict
    majority (``disputes.majority``), 2 a / 1 b / 1 tie has the plurality a."""
    counts = np.asarray(counts)
    if counts.size == 0:
        return np.zeros(counts.shape[0], dtype=np.int64)
    top = counts.max(axis=1)
    unique_top = (counts == top[:, None]).sum(axis=1) == 1
    return np.where(unique_top & (top > 0), counts.argmax(axis=1), -1)


def voted_pairs(
    prompt: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    votes_a: np.ndarray,
    votes_b: np.ndarray,
    votes_tie: np.ndarray,
) -> Pairs:
    """Voted pairs (DESIGN 6.3): one row per compared pair with its vote tallies. The label is
    the strict plurality among a / b / tie; pairs without one are left out and counted in
    ``excluded``. share_a = (votes_a + 0.5 votes_tie) / votes."""
    counts = np.column_stack([votes_a, votes_b, votes_tie]).astype(np.int64)
    label = plurality(counts)
    keep = label >= 0
    total = counts.sum(axis=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (counts[:, A] + 0.5 * counts[:, TIE]) / total
    return Pairs(
        kind="voted",
        prompt=np.asarray(prompt, dtype=np.int64)[keep],
        a=np.asarray(a, dtype=np.int64)[keep],
        b=np.asarray(b, dtype=np.int64)[keep],
        label=label[keep].astype(np.int64),
        share_a=share[keep],
        excluded=int((~keep).sum()),
    )


def within_prompt_pairs(prompt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions (i, j), i < j, of every two rows with the same prompt. After a stable sort
    by prompt the rows of a prompt are contiguous, so the pairs are rows k apart for
    k = 1 .. (largest prompt - 1): a few array passes, no loop over prompts."""
    prompt = np.asarray(prompt, dtype=np.int64)
    in_order = not (prompt[1:] < prompt[:-1]).any()  # usually: responses are read in id order
    order = np.arange(prompt.size) if in_order else np.argsort(prompt, kind="stable")
    sp = prompt[order]
    firsts, seconds = [], []
    for k in range(1, sp.size):
        same = sp[:-k] == sp[k:]
        if not same.any():
            break
        idx = np.flatnonzero(same)
        firsts.append(order[idx])
        seconds.append(order[idx + k])
    if not firsts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    i, j = np.concatenate(firsts), np.concatenate(seconds)
    return np.minimum(i, j), np.maximum(i, j)


def score_derived_pairs(prompt: np.ndarray, final: np.ndarray, tie_tolerance: float) -> Pairs:
    """Score-derived pairs (DESIGN 6.3, for Likert-only data): every pair of responses of one
    prompt that both have a human final (NaN = none); the higher final is preferred, a tie
    when |final_a - final_b| <= tie_tolerance. share_a is 1, 0 or 0.5 accordingly. Responses
    are the positions of ``prompt`` / ``final``; a is the lower position, and pairs come
    ordered by a, then b."""
    prompt = np.asarray(prompt, dtype=np.int64)
    final = np.asarray(final, dtype=np.float64)
    have = np.flatnonzero(~np.isnan(final))
    i, j = within_prompt_pairs(prompt[have])
    order = np.lexsort((j, i))  # by a, then b: rows in prompt order when responses are
    a, b = have[i[order]], have[j[order]]
    diff = final[a] - final[b]
    label = np.where(np.abs(diff) <= tie_tolerance, TIE, np.where(diff > 0, A, B))
    share = np.select([label == A, label == B], [1.0, 0.0], default=0.5)
    return Pairs(
        kind="score_derived",
        prompt=prompt[a],
        a=a,
        b=b,
        label=label.astype(np.int64),
        share_a=share,
    )


def calibration_split(prompt_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A seeded 50/50 split of prompt groups (DESIGN 6.3, for runs outside a release): True
    for prompts on the calibration side. Every distinct prompt id goes wholly to one side
    (a prompt's pairs share responses, so splitting them would leak); with an odd count the
    evaluation side gets the extra prompt."""
    prompt_ids = np.asarray(prompt_ids, dtype=np.int64)
    uniq = np.unique(prompt_ids)
    chosen = rng.permutation(uniq.size)[: uniq.size // 2]
    return np.isin(prompt_ids, uniq[chosen])


def oriented(scores: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """Scores turned so that higher is always better."""
    scores = np.asarray(scores, dtype=np.float64)
    return scores if higher_is_better else -scores
