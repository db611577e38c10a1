"""Bradley-Terry per prompt: the responses of each prompt as players, every prompt fitted
in one vectorized MM (``per_prompt``), and the mean fitted chance of beating the prompt's
other responses that the blend uses in place of Borda.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .fit import (
    DISCONNECTED,
    MAX_ITER,
    NEVER_COMPARED,
    PRIOR,
    TOL,
    _check_pairs,
    _halved,
    _labels,
    _mm,
    _no_mle_reason,
    _sigmoid,
)


def _groups_per_unit(unit: np.ndarray, labels: np.ndarray, n_units: int) -> np.ndarray:
    """How many distinct labels each unit's players carry."""
    if unit.size == 0:
        return np.zeros(n_units, dtype=np.int64)
    pairs = np.unique(np.column_stack([unit, labels]), axis=0)
    return np.bincount(pairs[:, 0], minlength=n_units)


def _nan_list(x: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in np.asarray(x, dtype=np.float64)]


@dataclass(frozen=True)
class PromptStrengths:
    """Bradley-Terry over the responses of each prompt (aligned with the caller's responses).

    strength: log-strength theta, mean 0 over the prompt's compared responses; NaN where
        undefined (``reason`` says why).
    win_probability: the fitted P(beats j) averaged over the other compared responses j of
        its prompt: Borda's scale (1 = beats every rival for sure, 0.5 = average), but from
        the model, so it uses indirect comparisons and the prior's shrinkage. NaN where
        undefined.
    wins: wins with ties as halves; n_games: judgments it took part in (both floats).
    No confidence interval: a prompt has a handful of votes and the bootstrap unit
    (the prompt) cannot be resampled inside one prompt.
    """

    strength: np.ndarray
    win_probability: np.ndarray
    reason: tuple[str, ...]
    wins: np.ndarray
    n_games: np.ndarray
    prior: float
    iterations: int
    prompts_fitted: int
    prompts_undefined: int

    def as_dict(self) -> dict:
        return {
            "strength": _nan_list(self.strength),
            "win_probability": _nan_list(self.win_probability),
            "reason": list(self.reason),
            "wins": [float(w) for w in self.wins],
            "n_games": [float(n) for n in self.n_games],
            "prior": self.prior,
            "iterations": self.iterations,
            "prompts_fitted": self.prompts_fitted,
            "prompts_undefined": self.prompts_undefined,
        }


def _mean_rival_probability(prompt: np.ndarray, theta: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """For each ok player, mean over the other ok players of its prompt of
    sigmoid(theta_i - theta_j); NaN elsewhere. All ordered pairs within a prompt, built
    with repeat/cumsum (sum of k^2 over prompts: small, prompts have a few responses)."""
    out = np.full(theta.size, np.nan)
    idx = np.flatnonzero(ok)
    if idx.size == 0:
        return out
    idx = idx[np.argsort(prompt[idx], kind="stable")]
    p = prompt[idx]
    starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
    sizes = np.diff(np.r_[starts, idx.size])
    size_of = np.repeat(sizes, sizes)
    start_of = np.repeat(starts, sizes)
    row = np.repeat(np.arange(idx.size), size_of)
    offset = np.arange(row.size) - np.repeat(np.cumsum(size_of) - size_of, size_of)
    col = start_of[row] + offset
    prob = _sigmoid(theta[idx[row]] - theta[idx[col]])
    prob[row == col] = 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        out[idx] = np.bincount(row, prob, idx.size) / (size_of - 1)
    return out


def per_prompt(
    response_prompts: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    wins_a: np.ndarray,
    wins_b: np.ndarray,
    ties: np.ndarray,
    *,
    prior: float = PRIOR,
    tol: float = TOL,
    max_iter: int = MAX_ITER,
) -> PromptStrengths:
    """Bradley-Terry strengths of the responses within each prompt, all prompts in one
    vectorized MM fit (they share no player, so the problems are independent).

    response_prompts: (n,) the prompt of each response; a, b: response positions 0..n-1
    of each compared pair (both of one prompt; a pair may appear in several rows), with
    its wins of a, wins of b and ties. The formula, prior and degenerate cases are in the
    package docstring; a prompt whose comparisons are disconnected, or (prior=0) have no
    finite MLE, leaves all its compared responses undefined."""
    if prior < 0:
        raise ValueError("prior must be >= 0")
    prompts = np.asarray(response_prompts, dtype=np.int64)
    n = prompts.size
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    _check_pairs(a, b, n, "response")
    w_ab, w_ba = _halved(wins_a, wins_b, ties)
    if (a == b).any():
        raise ValueError("a response cannot be compared with itself")
    if (prompts[a] != prompts[b]).any():
        raise ValueError("a pair compares responses of two different prompts")
    keep = (w_ab + w_ba) > 0
    a, b, w_ab, w_ba = a[keep], b[keep], w_ab[keep], w_ba[keep]
    won = np.bincount(a, w_ab, n) + np.bincount(b, w_ba, n)
    lost = np.bincount(a, w_ba, n) + np.bincount(b, w_ab, n)
    n_games = won + lost
    compared = n_games > 0
    reason = np.where(compared, "", NEVER_COMPARED).astype(object)

    _, unit = np.unique(prompts, return_inverse=True)
    n_units = int(unit.max(initial=-1)) + 1
    weak = _labels(a, b, n)
    pieces = _groups_per_unit(unit[compared], weak[compared], n_units)
    bad_unit = pieces > 1
    for i in np.flatnonzero(compared & bad_unit[unit]):
        reason[i] = DISCONNECTED.format(k=int(pieces[unit[i]]))
    if prior == 0:
        strong = _labels(a, b, n, strong_from=(w_ab, w_ba))
        no_mle = ~bad_unit & (_groups_per_unit(unit[compared], strong[compared], n_units) > 1)
        for i in np.flatnonzero(compared & no_mle[unit]):
            reason[i] = _no_mle_reason(i, won, lost)
        bad_unit |= no_mle
    ok = compared & ~bad_unit[unit]
    fit_edge = ok[a]
    theta, iterations = _mm(
        a[fit_edge],
        b[fit_edge],
        w_ab[fit_edge],
        w_ba[fit_edge],
        n,
        weak,
        prior=prior,
        tol=tol,
        max_iter=max_iter,
    )
    strength = np.where(ok, theta[0], np.nan)
    fitted_units = np.unique(unit[ok]).size
    return PromptStrengths(
        strength=strength,
        win_probability=_mean_rival_probability(unit, strength, ok),
        reason=tuple(str(r) for r in reason),
        wins=won,
        n_games=n_games,
        prior=float(prior),
        iterations=int(iterations),
        prompts_fitted=int(fitted_units),
        prompts_undefined=int(np.unique(unit[compared & bad_unit[unit]]).size),
    )
