"""Response scores (DESIGN 5): normalization, criterion score, Borda, blend, ranking.

All functions take flat numpy arrays and are vectorized over responses and prompts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

# final_source codes, as stored on ResponseScore.
BLEND, CRITERIA_ONLY, BORDA_ONLY, NONE = "blend", "criteria_only", "borda_only", ""


def normalize(values: np.ndarray, scale_min: float, scale_max: float) -> np.ndarray:
    """s = (v - min) / (max - min), mapping the scale onto [0, 1]. NaN stays NaN."""
    if scale_max <= scale_min:
        raise ValueError(f"empty scale {scale_min}..{scale_max}")
    return (np.asarray(values, dtype=np.float64) - scale_min) / (scale_max - scale_min)


def group_means(
    groups: np.ndarray, values: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-group mean of each column of ``values`` (shape (n,) or (n, C)), ignoring NaN.

    Returns (means (n_groups, C), counts (n_groups, C)); a group with no value in a column
    gets NaN there (never 0: "not rated" is not "rated worst")."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    groups = np.asarray(groups, dtype=np.int64)
    present = ~np.isnan(values)
    filled = np.where(present, values, 0.0)
    sums = np.zeros((n_groups, values.shape[1]))
    counts = np.zeros((n_groups, values.shape[1]))
    np.add.at(sums, groups, filled)
    np.add.at(counts, groups, present)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(counts > 0, sums / counts, np.nan)
    return means, counts.astype(np.int64)


def criterion_score(means: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """criterion_score(i) = sum_c w_c * mean_s_c(i) over normalized means (N, C). NaN when a
    criterion with positive weight has no rating for the response (never silently 0)."""
    means = np.asarray(means, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    used = weights > 0
    score = np.where(np.isnan(means[:, used]), 0.0, means[:, used]) @ weights[used]
    return np.where(np.isnan(means[:, used]).any(axis=1), np.nan, score)


@dataclass(frozen=True)
class Borda:
    """Per-response Borda score and pairwise counts (NaN borda: never compared)."""

    borda: np.ndarray
    n_rivals: np.ndarray
    wins: np.ndarray
    n_judgments: np.ndarray


def borda(
    a: np.ndarray,
    b: np.ndarray,
    wins_a: np.ndarray,
    wins_b: np.ndarray,
    ties: np.ndarray,
    n_responses: int,
) -> Borda:
    """Borda scores from per-pair tallies (DESIGN 5).

    For each pair (a, b) of responses to one prompt, compared n_ab = wins_a + wins_b + ties
    times: p_ab = (wins_a + 0.5 ties) / n_ab and p_ba = 1 - p_ab. Then
    borda(i) = mean over the rivals j compared with i of p_ij, so a response that beat every
    rival scores 1.0 and one that lost every time 0.0. A response never compared gets NaN.
    Indices a, b are response positions 0..n_responses-1; one row per distinct pair.
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    wa, wb, t = (np.asarray(x, dtype=np.float64) for x in (wins_a, wins_b, ties))
    n = wa + wb + t
    keep = n > 0
    a, b, wa, wb, t, n = a[keep], b[keep], wa[keep], wb[keep], t[keep], n[keep]
    p_ab = (wa + 0.5 * t) / n
    sums = np.bincount(a, p_ab, n_responses) + np.bincount(b, 1.0 - p_ab, n_responses)
    rivals = np.bincount(a, minlength=n_responses) + np.bincount(b, minlength=n_responses)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(rivals > 0, sums / rivals, np.nan)
    wins = np.bincount(a, wa, n_responses) + np.bincount(b, wb, n_responses)
    judged = np.bincount(a, n, n_responses) + np.bincount(b, n, n_responses)
    return Borda(
        borda=score,
        n_rivals=rivals,
        wins=wins.astype(np.int64),
        n_judgments=judged.astype(np.int64),
    )


def blend(
    criterion: np.ndarray, borda_score: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """final = alpha * criterion_score + (1 - alpha) * borda (DESIGN 5).

    Without pairwise data final = criterion_score (source "criteria_only"); without a
    criterion score (no Likert quorum) final = borda ("borda_only"); with neither, NaN ("").
    Returns (final, source)."""
    c, b = np.asarray(criterion, dtype=np.float64), np.asarray(borda_score, dtype=np.float64)
    has_c, has_b = ~np.isnan(c), ~np.isnan(b)
    final = np.where(has_c & has_b, alpha * c + (1.0 - alpha) * b, np.where(has_c, c, b))
    source = np.select(
        [has_c & has_b, has_c, has_b], [BLEND, CRITERIA_ONLY, BORDA_ONLY], default=NONE
    ).astype(object)
    return final, source


def tie_hash(seed: int, response_id: int) -> int:
    """The last tie-breaker: the first 8 bytes of sha256("seed:response_id"). Deterministic
    across runs, machines and Python versions (unlike hash())."""
    digest = hashlib.sha256(f"{seed}:{response_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


TIE_RULES = ("pairwise_wins", "criterion_mean", "hash")


@dataclass(frozen=True)
class Ranking:
    rank: np.ndarray  # 1 = best within its prompt; 0 for responses without a final score
    # How many adjacent positions inside a tie group each rule decided.
    decided_by: dict[str, int] = field(default_factory=dict)
    tie_groups: int = 0


def rank_within_prompt(
    prompts: np.ndarray,
    response_ids: np.ndarray,
    final: np.ndarray,
    wins: np.ndarray,
    tiebreak_mean: np.ndarray,
    *,
    seed: int,
    tolerance: float,
) -> Ranking:
    """Rank responses within each prompt by final score, best first (DESIGN 5).

    Responses whose finals lie within ``tolerance`` of their neighbour (single linkage on the
    sorted finals) form a tie group, ordered by (1) more pairwise wins, (2) higher mean on
    the most-weighted criterion (``tiebreak_mean``; NaN counts as lowest), (3) ascending
    ``tie_hash(seed, response id)``. Responses with NaN final are not ranked (rank 0).
    """
    prompts = np.asarray(prompts, dtype=np.int64)
    ids = np.asarray(response_ids, dtype=np.int64)
    final = np.asarray(final, dtype=np.float64)
    n = final.size
    rank = np.zeros(n, dtype=np.int64)
    ok = np.flatnonzero(~np.isnan(final))
    if ok.size == 0:
        return Ranking(rank=rank, decided_by=dict.fromkeys(TIE_RULES, 0))
    p, f = prompts[ok], final[ok]
    order = np.lexsort((-f, p))
    sp, sf = p[order], f[order]
    new_group = np.ones(ok.size, dtype=bool)
    new_group[1:] = (sp[1:] != sp[:-1]) | (sf[:-1] - sf[1:] > tolerance)
    group = np.empty(ok.size, dtype=np.int64)
    group[order] = np.cumsum(new_group)
    w = np.asarray(wins, dtype=np.float64)[ok]
    m = np.nan_to_num(np.asarray(tiebreak_mean, dtype=np.float64)[ok], nan=-np.inf)
    h = np.array([tie_hash(seed, int(i)) for i in ids[ok]], dtype=np.uint64)
    order = np.lexsort((h, -m, -w, group))
    sg, sp = group[order], p[order]
    first_of_prompt = np.ones(ok.size, dtype=bool)
    first_of_prompt[1:] = sp[1:] != sp[:-1]
    start = np.maximum.accumulate(np.where(first_of_prompt, np.arange(ok.size), 0))
    rank[ok[order]] = np.arange(ok.size) - start + 1
    # Which rule separated each adjacent pair inside a tie group.
    same = sg[1:] == sg[:-1]
    sw, sm = w[order], m[order]
    by_wins = same & (sw[1:] != sw[:-1])
    by_mean = same & ~by_wins & (sm[1:] != sm[:-1])
    by_hash = same & ~by_wins & ~by_mean
    sizes = np.bincount(group)
    decided = {
        "pairwise_wins": int(by_wins.sum()),
        "criterion_mean": int(by_mean.sum()),
        "hash": int(by_hash.sum()),
    }
    return Ranking(rank=rank, decided_by=decided, tie_groups=int((sizes > 1).sum()))
