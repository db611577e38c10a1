"""A lead's adjudications in a run (DESIGN 4.5): the deciding judgment on a disputed item.

- Likert: an adjudicated response's criterion means are its adjudication's ratings,
  normalized like any rating (s = (v - min) / (max - min)), in place of the annotators'
  means, whatever their number (the response counts as at quorum). The blend with the
  pairwise score is unchanged: final = alpha * criterion_score + (1 - alpha) * pairwise.
- Pairwise: an adjudicated pair's tally becomes max(votes, pairwise_quorum) votes for the
  adjudicated outcome, so the lead's choice overrides the votes in Borda and Bradley-Terry
  (Borda's p_ij is then 1, 0 or 0.5) and the pair is in them even below quorum.
Agreement statistics keep the annotators' own ratings and votes: they measure the humans.
Adjudications of items the run does not hold (a gold prompt, no vote left) are ignored.
"""

from __future__ import annotations

import numpy as np


def present_positions(ids: np.ndarray, sorted_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(present, positions): which of ``ids`` are in ``sorted_ids`` and where (positions
    are only meaningful where present)."""
    ids = np.asarray(ids, dtype=np.int64)
    if sorted_ids.size == 0:
        return np.zeros(ids.size, dtype=bool), np.zeros(ids.size, dtype=np.int64)
    pos = np.minimum(np.searchsorted(sorted_ids, ids), sorted_ids.size - 1)
    return sorted_ids[pos] == ids, pos


def pair_overrides(
    tallies: np.ndarray,
    pair_keys: np.ndarray,
    adjudicated_keys: np.ndarray,
    adjudicated_outcomes: np.ndarray,
    quorum: int,
) -> tuple[np.ndarray, np.ndarray]:
    """(score tallies, decided mask over pairs). ``tallies`` (P, 3) counts (a, b, tie) per
    pair, ``pair_keys`` (P,) the pairs' sorted keys; the adjudicated pairs' keys and
    outcomes (0 a, 1 b, 2 tie). A decided pair's row becomes max(votes, quorum) votes for
    its outcome; other rows are unchanged. Pairs without a vote are not added."""
    out = np.array(tallies, copy=True)
    decided = np.zeros(out.shape[0], dtype=bool)
    keys = np.asarray(adjudicated_keys, dtype=np.int64)
    if keys.size == 0 or pair_keys.size == 0:
        return out, decided
    pos = np.searchsorted(pair_keys, keys)
    hit = (pos < pair_keys.size) & (pair_keys[np.minimum(pos, pair_keys.size - 1)] == keys)
    rows, outcomes = pos[hit], np.asarray(adjudicated_outcomes, dtype=np.int64)[hit]
    n = np.maximum(out[rows].sum(axis=1), quorum)
    out[rows] = 0
    out[rows, outcomes] = n
    decided[rows] = True
    return out, decided
