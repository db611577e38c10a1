"""Bradley-Terry across the project: generator models as players, every pairwise judgment
between two models' responses a game (``model_ranking``), an Arena-style ranking with
bootstrap CIs over prompts (resamples screened by ``_valid_resamples``, fitted as one batch).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..bootstrap import CONFIDENCE, N_RESAMPLES, percentile_ci, resample_blocks
from ..results import Estimate, undefined
from .fit import (
    DISCONNECTED,
    GROUP_NEVER_LOST,
    MAX_ITER,
    NEVER_COMPARED,
    NO_GAMES,
    PRIOR,
    TOL,
    _check_pairs,
    _halved,
    _labels,
    _mm,
    _no_mle_reason,
    _sigmoid,
)


@dataclass(frozen=True)
class PlayerStrength:
    player: str
    rank: int  # 1 = strongest; 0 when undefined
    strength: Estimate  # log-strength, mean 0 over the ranked players, with its bootstrap CI
    wins: float  # outright wins, ties not included
    losses: float
    ties: float
    games: float  # wins + losses + ties

    @property
    def p_beats_average(self) -> float | None:
        """sigmoid(theta): P(beats a player of average log-strength)."""
        v = self.strength.value
        return None if v is None else float(_sigmoid(v))

    def as_dict(self) -> dict:
        s = self.strength
        ci = (s.ci_low, s.ci_high)
        return {
            "player": self.player,
            "rank": self.rank,
            "strength": s.as_dict(),
            "p_beats_average": self.p_beats_average,
            "p_beats_average_ci": [None if c is None else float(_sigmoid(c)) for c in ci],
            "wins": self.wins,
            "losses": self.losses,
            "ties": self.ties,
            "games": self.games,
        }


@dataclass(frozen=True)
class ModelRanking:
    """An Arena-style ranking: players ordered by strength, strongest first (undefined ones
    last, in input order). ``reason`` is set when no player could be ranked as a whole
    (disconnected games, or no finite MLE with prior=0)."""

    players: tuple[PlayerStrength, ...]
    prior: float
    reason: str = ""
    n_prompts: int = 0
    n_games: float = 0.0
    n_same_player: int = 0  # judgments between two responses of one player: dropped
    n_resamples: int = 0
    resamples_dropped: int = 0  # resamples where the ranked players were not all comparable
    confidence: float = CONFIDENCE
    iterations: int = 0

    @property
    def order(self) -> list[str]:
        return [p.player for p in self.players if p.rank]

    def as_dict(self) -> dict:
        return {
            "method": "bradley_terry",
            "prior": self.prior,
            "reason": self.reason,
            "n_prompts": self.n_prompts,
            "n_games": self.n_games,
            "n_same_player": self.n_same_player,
            "n_resamples": self.n_resamples,
            "resamples_dropped": self.resamples_dropped,
            "confidence": self.confidence,
            "players": [p.as_dict() for p in self.players],
        }


def _valid_resamples(
    a: np.ndarray,
    b: np.ndarray,
    w_ab: np.ndarray,
    w_ba: np.ndarray,
    ranked: np.ndarray,
    *,
    strict: bool,
) -> np.ndarray:
    """Per resample row: the ranked players' games connect them all (so each has a game)
    and, when ``strict`` (prior=0), every ranked player can reach every other along
    loser -> winner edges, i.e. the MLE is finite. Players (models) are few, so this is a
    transitive closure of (B, k, k) adjacency matrices by repeated squaring, all resamples
    at once (a loop of graph searches took 2 ms per resample)."""
    idx = np.flatnonzero(ranked)
    k = idx.size
    pos = np.full(ranked.size, -1)
    pos[idx] = np.arange(k)
    pa, pb = pos[a], pos[b]
    inside = (pa >= 0) & (pb >= 0)
    pa, pb = pa[inside], pb[inside]
    beat_ab, beat_ba = w_ab[:, inside] > 0, w_ba[:, inside] > 0
    reach = np.zeros((w_ab.shape[0], k, k), dtype=np.float32)
    reach[:, np.arange(k), np.arange(k)] = 1.0
    rows = np.arange(w_ab.shape[0])[:, None]
    # Edge loser -> winner; the undirected check uses both directions for any game.
    to_a, to_b = (beat_ab, beat_ba) if strict else ((beat_ab | beat_ba),) * 2
    np.maximum.at(reach, (rows, pb[None, :], pa[None, :]), to_a.astype(np.float32))
    np.maximum.at(reach, (rows, pa[None, :], pb[None, :]), to_b.astype(np.float32))
    for _ in range(max(int(np.ceil(np.log2(max(k, 2)))), 1)):
        reach = np.minimum(reach @ reach, 1.0)
    return (reach > 0).all(axis=(1, 2))


def model_ranking(
    prompt: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    wins_a: np.ndarray,
    wins_b: np.ndarray,
    ties: np.ndarray,
    players: Sequence[str],
    *,
    prior: float = PRIOR,
    rng: np.random.Generator | None = None,
    n_resamples: int = N_RESAMPLES,
    tol: float = TOL,
    max_iter: int = MAX_ITER,
) -> ModelRanking:
    """Bradley-Terry strengths of players (generator models) from games grouped by prompt.

    Each row is a tally of games on one prompt between players a and b (indices into
    ``players``): typically one row per pairwise judgment, its outcome a one in wins_a,
    wins_b or ties. Rows with a == b are dropped and counted. Formula, prior and degenerate
    cases: the package docstring.

    CI: the prompts are resampled with replacement (``scoring.core.bootstrap``: one
    (B, n_prompts) weight matrix per block, randomness only from ``rng``); each resample's
    win matrix is weights @ per-prompt wins, and all resamples are fitted together as one
    batched MM. A resample in which some ranked player has no game or the players fall
    apart (or, prior=0, has no finite MLE) is dropped and counted; 95% percentile
    intervals; no interval when rng is None or n_resamples is 0."""
    if prior < 0:
        raise ValueError("prior must be >= 0")
    names = [str(p) for p in players]
    n = len(names)
    prompt = np.asarray(prompt, dtype=np.int64)
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    _check_pairs(a, b, n, "player")
    w_ab, w_ba = _halved(wins_a, wins_b, ties)
    if not (prompt.shape == a.shape == w_ab.shape == w_ba.shape):
        raise ValueError("prompt, a, b and the counts must have the same length")
    same = a == b
    n_same = int(((w_ab + w_ba) > 0)[same].sum())
    keep = ~same & ((w_ab + w_ba) > 0)
    prompt, a, b, w_ab, w_ba = prompt[keep], a[keep], b[keep], w_ab[keep], w_ba[keep]
    # Canonical edges lo < hi, so each pair of players is one column.
    swap = a > b
    lo, hi = np.where(swap, b, a), np.where(swap, a, b)
    w_lo, w_hi = np.where(swap, w_ba, w_ab), np.where(swap, w_ab, w_ba)
    edges, edge = np.unique(lo * n + hi, return_inverse=True)
    ea, eb = np.divmod(edges, max(n, 1))
    prompts, unit = np.unique(prompt, return_inverse=True)
    n_prompts, n_edges = prompts.size, edges.size
    # Per-prompt wins of each edge's two ends: (n_prompts, 2 * n_edges).
    per_prompt_wins = np.zeros((n_prompts, 2 * n_edges))
    np.add.at(per_prompt_wins, (unit, edge), w_lo)
    np.add.at(per_prompt_wins, (unit, n_edges + edge), w_hi)
    total = per_prompt_wins.sum(axis=0)
    t_lo, t_hi = total[:n_edges], total[n_edges:]

    won = np.bincount(ea, t_lo, n) + np.bincount(eb, t_hi, n)
    lost = np.bincount(ea, t_hi, n) + np.bincount(eb, t_lo, n)
    tie_counts = np.asarray(ties, dtype=np.float64)[keep]
    tied = np.bincount(a, tie_counts, n) + np.bincount(b, tie_counts, n)
    played = (won + lost) > 0

    weak = _labels(ea, eb, n)
    reason = ""
    pieces = np.unique(weak[played]).size
    if pieces == 0:
        reason = NO_GAMES
    elif pieces > 1:
        reason = DISCONNECTED.format(k=pieces)
    elif prior == 0 and played.any():
        strong = _labels(ea, eb, n, strong_from=(t_lo, t_hi))
        if np.unique(strong[played]).size > 1:
            # Name a player that never lost / never won when there is one.
            culprit = next(
                (i for i in np.flatnonzero(played) if lost[i] == 0 or won[i] == 0),
                int(np.flatnonzero(played)[0]),
            )
            why = _no_mle_reason(culprit, won, lost)
            reason = why if why == GROUP_NEVER_LOST else f"{names[culprit]} {why}"
    ranked = played if not reason else np.zeros(n, dtype=bool)

    theta = np.full(n, np.nan)
    iterations, low, high, n_boot, dropped = 0, np.full(n, None), np.full(n, None), 0, 0
    if ranked.any():
        fit, iterations = _mm(ea, eb, t_lo, t_hi, n, weak, prior=prior, tol=tol, max_iter=max_iter)
        theta = np.where(ranked, fit[0], np.nan)
        if rng is not None and n_resamples > 0:
            reps = []
            for w in resample_blocks(rng, n_prompts, n_resamples):
                boot = w @ per_prompt_wins
                r_lo, r_hi = boot[:, :n_edges], boot[:, n_edges:]
                valid = _valid_resamples(ea, eb, r_lo, r_hi, ranked, strict=prior == 0)
                block = np.full((w.shape[0], n), np.nan)
                if valid.any():
                    fitted, _ = _mm(
                        ea,
                        eb,
                        r_lo[valid],
                        r_hi[valid],
                        n,
                        weak,
                        prior=prior,
                        tol=tol,
                        max_iter=max_iter,
                    )
                    block[valid] = fitted
                reps.append(block)
                dropped += int((~valid).sum())
            reps = np.concatenate(reps)
            n_boot = reps.shape[0]
            for i in np.flatnonzero(ranked):
                low[i], high[i] = percentile_ci(reps[:, i])

    order = sorted(range(n), key=lambda i: (not ranked[i], -theta[i] if ranked[i] else 0, i))
    rank_of = {i: r + 1 for r, i in enumerate(j for j in order if ranked[j])}
    out = []
    for i in order:
        if ranked[i]:
            est = Estimate(
                value=float(theta[i]),
                ci_low=low[i],
                ci_high=high[i],
                n_units=n_prompts,
                n_pairable=int(round(won[i] + lost[i])),
                n_resamples=n_boot,
            )
        else:
            est = undefined(reason if played[i] else NEVER_COMPARED, n_units=n_prompts)
        out.append(
            PlayerStrength(
                player=names[i],
                rank=rank_of.get(i, 0),
                strength=est,
                wins=float(won[i] - tied[i] / 2),
                losses=float(lost[i] - tied[i] / 2),
                ties=float(tied[i]),
                games=float(won[i] + lost[i]),
            )
        )
    return ModelRanking(
        players=tuple(out),
        prior=float(prior),
        reason=reason,
        n_prompts=int(n_prompts),
        n_games=float((w_ab + w_ba).sum()),
        n_same_player=n_same,
        n_resamples=n_boot,
        resamples_dropped=dropped,
        iterations=int(iterations),
    )
