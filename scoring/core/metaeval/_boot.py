"""Bootstrap over prompts for meta-evaluation figures (DESIGN 6.3), vectorized.

Every figure here is a function of sums over prompts (accuracy = correct / judged, a mean of
per-prompt values = sum of values / number of prompts, ECE from per-bin sums), so a resample
is a weight vector over prompts and all resamples are one matrix product with the
(B, n_prompts) weight matrix from ``scoring.core.bootstrap`` (Efron & Tibshirani 1993).

A figure states its per-prompt rows and how its replicates follow from their resampled
sums (``estimates``); the ``rng`` it is given decides when the product is taken: at once
(a Generator or a ``Resampler``), or for a whole meta-evaluation together (a ``Batch``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..bootstrap import N_RESAMPLES, percentile_ci, resample_weights
from ..results import Estimate, undefined

# (B, *tail) resampled sums -> (B,) replicates of one figure.
Statistic = Callable[[np.ndarray], np.ndarray]


def prompt_sums(prompt: np.ndarray, values: np.ndarray, n_prompts: int) -> np.ndarray:
    """Per-prompt sums of ``values`` (shape (n,) or (n, K)) -> (n_prompts,) or (n_prompts, K),
    one ``np.bincount`` per column (several times faster than ``np.add.at``)."""
    prompt = np.asarray(prompt, dtype=np.int64)
    values = np.asarray(values, dtype=np.float64)
    if values.ndim == 1:
        return np.bincount(prompt, values, n_prompts)
    out = np.empty((n_prompts, values.shape[1]))
    for k in range(values.shape[1]):
        out[:, k] = np.bincount(prompt, values[:, k], n_prompts)
    return out


def compact(prompt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions 0..P-1 of each row's prompt, the P distinct prompt ids, sorted). Rows
    already in prompt order (pairs and responses are read in id order, so usually they are)
    take one pass instead of ``np.unique``'s sort."""
    prompt = np.asarray(prompt, dtype=np.int64)
    if prompt.size and (prompt[1:] < prompt[:-1]).any():
        uniq, inverse = np.unique(prompt, return_inverse=True)
        return inverse.astype(np.int64), uniq
    first = np.empty(prompt.size, dtype=bool)
    first[:1] = True
    np.not_equal(prompt[1:], prompt[:-1], out=first[1:])
    return np.cumsum(first) - 1, prompt[first]


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
class Pending(Estimate):
    """An estimate whose point value is known and whose CI waits for its ``Batch``: the
    replicates are ``statistic`` of the batch's answer to request ``request``. Resolve it
    with ``Batch.resolve`` before reading its interval or writing it out."""

    statistic: Statistic | None = field(default=None, compare=False, repr=False)
    request: int = -1
    tail: tuple = ()

    def as_dict(self) -> dict:
        raise RuntimeError("a pending estimate has no interval yet: resolve its Batch first")


@dataclass(frozen=True)
class Batch(Resampler):
    """A ``Resampler`` that answers every figure's resampled sums together: ``estimates``
    keeps each request (positions and per-prompt rows) and returns ``Pending`` estimates;
    ``resolve`` then takes ONE product of the weight matrix with all requests side by side
    (each product streams the whole 120 MB matrix from memory, so thirty small ones cost
    far more than one wide one) and gives every pending estimate its interval. The figures
    themselves are computed once (an earlier two-pass version computed them twice)."""

    requests: list = field(default_factory=list)

    @classmethod
    def over(cls, resampler: Resampler) -> Batch:
        return cls(prompt_ids=resampler.prompt_ids, weights=resampler.weights)

    def request(self, ids: np.ndarray, per_prompt: np.ndarray) -> int:
        self.requests.append((self.positions(ids), per_prompt))
        return len(self.requests) - 1

    def sums(self, ids: np.ndarray, per_prompt: np.ndarray) -> np.ndarray:
        raise RuntimeError("a Batch answers through estimates(), not sums()")

    def answers(self) -> list[np.ndarray]:
        """The (B, K) resampled sums of every request, in order, from one product. Columns
        that are all zeros (an empty calibration bin) or repeat an earlier column (the same
        denominators in several figures) are left out of the product and copied in after:
        a third fewer columns on the benchmark's scorers. Repeats are found by a random
        projection and confirmed equal element by element."""
        widths = [rows.shape[1] for _, rows in self.requests]
        # Built transposed: one contiguous row per column, cheap to compare and to pick.
        columns = np.zeros((sum(widths), self.prompt_ids.size))
        start = 0
        for (pos, rows), width in zip(self.requests, widths, strict=True):
            columns[start : start + width, pos] = rows.T
            start += width
        projection = columns @ np.random.default_rng(0).random(self.prompt_ids.size)
        source = np.full(columns.shape[0], -1)  # the product column that answers each
        distinct: list[int] = []
        by_projection: dict[float, list[int]] = {}
        for k in np.flatnonzero(columns.any(axis=1)).tolist():
            same = by_projection.setdefault(float(projection[k]), [])
            match = next(
                (d for d in same if np.array_equal(columns[distinct[d]], columns[k])), None
            )
            if match is None:
                match = len(distinct)
                distinct.append(k)
                same.append(match)
            source[k] = match
        product = np.zeros((self.weights.shape[0], columns.shape[0]))
        if distinct:
            answered = self.weights @ columns[distinct].T
            product[:, source >= 0] = answered[:, source[source >= 0]]
        return np.split(product, np.cumsum(widths)[:-1], axis=1) if widths else []

    def resolve(self, tree: Any, finish: Callable[[Estimate], Any] = lambda est: est) -> Any:
        """``tree`` (dicts, lists and tuples of anything) with every ``Pending`` replaced by
        ``finish`` of its resolved ``Estimate`` (e.g. ``Estimate.as_dict``)."""
        answers = self.answers()
        b = self.weights.shape[0]

        def walk(node: Any) -> Any:
            if isinstance(node, Pending):
                sums = answers[node.request].reshape((b, *node.tail))
                with np.errstate(divide="ignore", invalid="ignore"):
                    return finish(_with_ci(Estimate(**_fields(node)), node.statistic(sums)))
            if isinstance(node, dict):
                return {key: walk(value) for key, value in node.items()}
            if isinstance(node, list | tuple):
                return type(node)(walk(value) for value in node)
            return node

        return walk(tree)


_ESTIMATE_FIELDS = tuple(Estimate.__dataclass_fields__)


def _fields(est: Estimate) -> dict:
    return {name: getattr(est, name) for name in _ESTIMATE_FIELDS}


def _with_ci(point: Estimate, replicates: np.ndarray) -> Estimate:
    low, high = percentile_ci(replicates) if replicates.size else (None, None)
    return replace(point, ci_low=low, ci_high=high, n_resamples=int(replicates.shape[0]))


Rng = np.random.Generator | Resampler | None


def weights(rng: Rng, ids: np.ndarray, n_resamples: int) -> np.ndarray:
    """(B, len(ids)) weights: fresh draws from a Generator, the columns of a Resampler
    (whose own B wins), or none (no CI) for rng None or n_resamples 0."""
    if isinstance(rng, Resampler):
        return rng.columns(np.asarray(ids, dtype=np.int64))
    if rng is None or n_resamples <= 0:
        return np.zeros((0, len(ids)))
    return resample_weights(rng, len(ids), n_resamples)


def estimates(
    rng: Rng,
    ids: np.ndarray,
    per_prompt: np.ndarray,
    n_resamples: int,
    parts: Sequence[tuple[Statistic, Estimate]],
) -> list[Estimate]:
    """Estimates whose CIs come from the resampled sums of the same per-prompt rows
    (``per_prompt``: one row per prompt id of ``ids``, any trailing shape). Each part is
    (statistic, point): the point estimate without its interval, and the function from the
    (B, *trailing shape) resampled sums to the B replicates of that figure; its CI is their
    percentile interval (``percentile_ci``: NaN replicates, from resamples that drew none
    of these prompts, are dropped). With a ``Batch`` the estimates are ``Pending`` until
    the batch resolves them."""
    per_prompt = np.asarray(per_prompt, dtype=np.float64)
    tail = per_prompt.shape[1:]
    flat = per_prompt.reshape(per_prompt.shape[0], -1)
    ids = np.asarray(ids, dtype=np.int64)
    if isinstance(rng, Batch):
        request = rng.request(ids, flat)
        return [
            Pending(**_fields(point), statistic=stat, request=request, tail=tail)
            for stat, point in parts
        ]
    if isinstance(rng, Resampler):
        sums = rng.sums(ids, flat)
    else:
        sums = weights(rng, ids, n_resamples) @ flat
    sums = sums.reshape((-1, *tail))
    with np.errstate(divide="ignore", invalid="ignore"):
        return [_with_ci(point, stat(sums)) for stat, point in parts]


def ratio(numerator: int, denominator: int) -> Statistic:
    def statistic(sums: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return sums[:, numerator] / sums[:, denominator]

    return statistic


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
    num = np.bincount(p, numerator[used], n_prompts)
    den = np.bincount(p, denominator[used], n_prompts)
    point = Estimate(
        value=float(num.sum() / den.sum()), n_units=n_prompts, n_pairable=int(used.sum())
    )
    return estimates(rng, ids, np.column_stack([num, den]), n_resamples, [(ratio(0, 1), point)])[0]


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
    parts, empty = [], []
    for g in range(n_groups):
        used = denominators[:, g] > 0
        if not used.any():
            empty.append(g)
            continue
        point = Estimate(
            value=float(num[:, g].sum() / den[:, g].sum()),
            n_units=int((den[:, g] > 0).sum()),
            n_pairable=int(used.sum()),
        )
        parts.append((ratio(g, n_groups + g), point))
    found = iter(
        estimates(rng, ids, np.concatenate([num, den], axis=1), n_resamples, parts) if parts else []
    )
    return [undefined(empty_reason) if g in empty else next(found) for g in range(n_groups)]
