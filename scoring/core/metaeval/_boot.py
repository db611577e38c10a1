"""Bootstrap over prompts for meta-evaluation figures (DESIGN 6.3), vectorized.

Every figure here is a ratio of sums over prompts (accuracy = correct / judged, a mean of
per-prompt values = sum of values / number of prompts, ECE from per-bin sums), so a resample
is a weight vector over prompts and all resamples are one matrix product with the
(B, n_prompts) weight matrix from ``scoring.core.bootstrap`` (Efron & Tibshirani 1993).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from ..bootstrap import N_RESAMPLES, percentile_ci, resample_weights
from ..results import Estimate, undefined


def prompt_sums(prompt: np.ndarray, values: np.ndarray, n_prompts: int) -> np.ndarray:
    """Per-prompt sums of ``values`` (shape (n,) or (n, K)) -> (n_prompts,) or (n_prompts, K)."""
    prompt = np.asarray(prompt, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        return np.bincount(prompt, values, n_prompts)
    out = np.zeros((n_prompts, values.shape[1]))
    np.add.at(out, prompt, values)
    return out


def compact(prompt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions 0..P-1 of each row's prompt, the P distinct prompt ids, sorted)."""
    uniq, inverse = np.unique(np.asarray(prompt, dtype=np.int64), return_inverse=True)
    return inverse.astype(np.int64), uniq


@dataclass(frozen=True)
class Resampler:
    """One (B, n_prompts) resample-weight matrix over every prompt of a meta-evaluation,
    shared by all its figures: each figure takes the columns of its own prompts, so the
    figures of one scorer (and of several scorers) come from the same resamples and the
    matrix is drawn once. Pass it wherever a function takes ``rng``."""

    prompt_ids: np.ndarray
    weights: np.ndarray

    @classmethod
    def draw(
        cls, prompt_ids: np.ndarray, rng: np.random.Generator, n_resamples: int = N_RESAMPLES
    ) -> Resampler:
        ids = np.unique(np.asarray(prompt_ids, dtype=np.int64))
        return cls(prompt_ids=ids, weights=resample_weights(rng, ids.size, n_resamples))

    def positions(self, ids: np.ndarray) -> np.ndarray:
        pos = np.searchsorted(self.prompt_ids, ids)
        pos = np.minimum(pos, max(self.prompt_ids.size - 1, 0))
        if ids.size and (self.prompt_ids.size == 0 or (self.prompt_ids[pos] != ids).any()):
            raise ValueError("the resampler was drawn without some of these prompts")
        return pos

    def columns(self, ids: np.ndarray) -> np.ndarray:
        return self.weights[:, self.positions(ids)]

    def sums(self, ids: np.ndarray, per_prompt: np.ndarray) -> np.ndarray:
        """(B, K) resampled sums of (len(ids), K) per-prompt rows: the rows scattered into
        a zero matrix over all prompts and multiplied by the whole weight matrix, instead of
        copying the ids' columns out of it first (on 15,000 prompts x 1000 resamples the
        column copy, 120 MB per figure, took half of a meta-evaluation)."""
        full = np.zeros((self.prompt_ids.size, per_prompt.shape[1]))
        full[self.positions(ids)] = per_prompt
        return self.weights @ full


@dataclass(frozen=True)
class Recording(Resampler):
    """The first pass of a two-pass computation: every figure asks for its resampled sums,
    gets zeros, and the request is kept. ``replay()`` then answers all of them with ONE
    product with the weight matrix (each product streams the whole matrix from memory, so
    thirty small ones cost far more than one wide one) for a second pass that asks again,
    in the same order. Figures must ask in an order that does not depend on the sums (they
    do: the sums only feed percentiles)."""

    requests: list = field(default_factory=list)

    @classmethod
    def over(cls, resampler: Resampler) -> Recording:
        return cls(prompt_ids=resampler.prompt_ids, weights=resampler.weights)

    def sums(self, ids: np.ndarray, per_prompt: np.ndarray) -> np.ndarray:
        self.requests.append((self.positions(ids), per_prompt))
        return np.zeros((self.weights.shape[0], per_prompt.shape[1]))

    def replay(self) -> Replay:
        widths = [rows.shape[1] for _, rows in self.requests]
        full = np.zeros((self.prompt_ids.size, sum(widths)))
        start = 0
        for (pos, rows), width in zip(self.requests, widths, strict=True):
            full[pos, start : start + width] = rows
            start += width
        product = self.weights @ full
        parts = np.split(product, np.cumsum(widths)[:-1], axis=1) if widths else []
        return Replay(prompt_ids=self.prompt_ids, weights=self.weights, answers=deque(parts))


@dataclass(frozen=True)
class Replay(Resampler):
    """The second pass: the recorded requests' sums, in order (see ``Recording``)."""

    answers: deque = field(default_factory=deque)

    def sums(self, ids: np.ndarray, per_prompt: np.ndarray) -> np.ndarray:
        if not self.answers or self.answers[0].shape[1] != per_prompt.shape[1]:
            raise RuntimeError("the second pass asked for sums the first pass did not record")
        return self.answers.popleft()


Rng = np.random.Generator | Resampler | None


def weights(rng: Rng, ids: np.ndarray, n_resamples: int) -> np.ndarray:
    """(B, len(ids)) weights: fresh draws from a Generator, the columns of a Resampler
    (whose own B wins), or none (no CI) for rng None or n_resamples 0."""
    if isinstance(rng, Resampler):
        return rng.columns(np.asarray(ids, dtype=np.int64))
    if rng is None or n_resamples <= 0:
        return np.zeros((0, len(ids)))
    return resample_weights(rng, len(ids), n_resamples)


def resampled(rng: Rng, ids: np.ndarray, per_prompt: np.ndarray, n_resamples: int) -> np.ndarray:
    """``weights(rng, ids, n_resamples) @ per_prompt``: the (B, ...) resampled sums of
    per-prompt rows (``per_prompt`` has one row per id, any trailing shape); a Resampler
    answers through ``Resampler.sums``."""
    per_prompt = np.asarray(per_prompt, dtype=np.float64)
    tail = per_prompt.shape[1:]
    flat = per_prompt.reshape(per_prompt.shape[0], -1)
    ids = np.asarray(ids, dtype=np.int64)
    if isinstance(rng, Resampler):
        out = rng.sums(ids, flat)
    else:
        out = weights(rng, ids, n_resamples) @ flat
    return out.reshape((out.shape[0], *tail))


def ratio_estimate(
    prompt: np.ndarray,
    numerator: np.ndarray,
    denominator: np.ndarray,
    *,
    rng: Rng,
    n_resamples: int = N_RESAMPLES,
    empty_reason: str,
) -> Estimate:
    """sum(numerator) / sum(denominator) over rows, CI by resampling prompts.

    Rows belong to prompts (``prompt``); a resample's value is W @ num_p / W @ den_p, NaN
    where the resample drew no row with weight (dropped by ``percentile_ci``). Undefined
    with ``empty_reason`` when the denominator sums to 0. n_units = prompts, n_pairable =
    rows with positive denominator."""
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    used = denominator > 0
    if not used.any():
        return undefined(empty_reason)
    p, ids = compact(np.asarray(prompt)[used])
    n_prompts = ids.size
    num = prompt_sums(p, numerator[used], n_prompts)
    den = prompt_sums(p, denominator[used], n_prompts)
    value = float(num.sum() / den.sum())
    sums = resampled(rng, ids, np.column_stack([num, den]), n_resamples)
    with np.errstate(divide="ignore", invalid="ignore"):
        reps = sums[:, 0] / sums[:, 1]
    low, high = percentile_ci(reps) if reps.size else (None, None)
    return Estimate(
        value=value,
        ci_low=low,
        ci_high=high,
        n_units=n_prompts,
        n_pairable=int(used.sum()),
        n_resamples=int(reps.size),
    )


def ratio_estimates(
    prompt: np.ndarray,
    numerators: np.ndarray,
    denominators: np.ndarray,
    *,
    rng: Rng,
    n_resamples: int = N_RESAMPLES,
    empty_reason: str,
) -> list[Estimate]:
    """``ratio_estimate`` of each column of (n, G) numerators and denominators (a figure per
    group: per domain, per generator). With a Resampler all G come from one product with the
    weight matrix, each equal to its own ``ratio_estimate``; with a Generator each group
    draws its own resamples, as ``ratio_estimate`` does."""
    numerators = np.asarray(numerators, dtype=np.float64)
    denominators = np.asarray(denominators, dtype=np.float64)
    n_groups = numerators.shape[1]
    if not isinstance(rng, Resampler):
        return [
            ratio_estimate(
                prompt,
                numerators[:, g],
                denominators[:, g],
                rng=rng,
                n_resamples=n_resamples,
                empty_reason=empty_reason,
            )
            for g in range(n_groups)
        ]
    any_used = (denominators > 0).any(axis=1)
    p, ids = compact(np.asarray(prompt)[any_used])
    num = prompt_sums(p, numerators[any_used], ids.size)
    den = prompt_sums(p, denominators[any_used], ids.size)
    sums = resampled(rng, ids, np.concatenate([num, den], axis=1), n_resamples)
    out = []
    for g in range(n_groups):
        used = denominators[:, g] > 0
        if not used.any():
            out.append(undefined(empty_reason))
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            reps = sums[:, g] / sums[:, n_groups + g]
        low, high = percentile_ci(reps) if reps.size else (None, None)
        out.append(
            Estimate(
                value=float(num[:, g].sum() / den[:, g].sum()),
                ci_low=low,
                ci_high=high,
                n_units=int((den[:, g] > 0).sum()),
                n_pairable=int(used.sum()),
                n_resamples=int(reps.size),
            )
        )
    return out
