"""Calibration of scorer preferences (DESIGN 6.3): temperature-scaled Bradley-Terry
probabilities and the isotonic alternative, with ECE, Brier score, log loss and
reliability-diagram data on the evaluation side."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special
from sklearn.isotonic import IsotonicRegression

from ..bootstrap import N_RESAMPLES
from ..results import Estimate
from . import _boot
from .accuracy import score_gaps
from .pairs import Pairs

N_BINS = 10
# Confidence max(p, 1 - p) lies in [0.5, 1]; the 10 equal-width bins span that range.
BIN_LOW = 0.5
# log T is searched in [-LOG_T_BOUND, LOG_T_BOUND]: T from 2e-9 to 5e8 covers raw logits,
# lengths in characters and [0, 1] metrics alike.
LOG_T_BOUND = 20.0
EPS = 1e-12


def bin_index(confidence: np.ndarray, n_bins: int = N_BINS) -> np.ndarray:
    """Equal-width bins over [0.5, 1]; bin k holds (0.5 + k w, 0.5 + (k + 1) w], the first
    also 0.5 itself, w = 0.05."""
    width = (1.0 - BIN_LOW) / n_bins
    k = np.ceil((np.asarray(confidence) - BIN_LOW) / width - 1e-9).astype(np.int64) - 1
    return np.clip(k, 0, n_bins - 1)


def _per_pair(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per pair: confidence, hit and (squared error, log loss) columns.

    The more likely side is a when p >= 0.5, else b; hit = the vote share of that side
    (tie votes count one half), so a unanimous pair scores 1 or 0 and a split pair between."""
    p = np.clip(p, EPS, 1.0 - EPS)
    conf = np.maximum(p, 1.0 - p)
    hit = np.where(p >= 0.5, y, 1.0 - y)
    brier = (p - y) ** 2
    logloss = -(y * np.log(p) + (1.0 - y) * np.log1p(-p))
    return conf, hit, np.column_stack([brier, logloss])


def _bin_sums(row: np.ndarray, n_rows: int, per_pair: tuple, n_bins: int) -> np.ndarray:
    """(n_rows, n_bins + 3) sums per row group (``row``: each pair's group, e.g. its prompt):
    per bin the hits minus the confidence (ECE = sum over bins of |that sum| / N, and the
    absolute value comes after the sum, so one column per bin is enough), then the pair
    count, squared errors and log losses: what ECE, Brier and log loss need, no more.
    ``per_pair``: the output of ``_per_pair``."""
    conf, hit, losses = per_pair
    cell = row * n_bins + bin_index(conf, n_bins)
    out = np.empty((n_rows, n_bins + 3))
    out[:, :n_bins] = np.bincount(cell, hit - conf, n_rows * n_bins).reshape(n_rows, n_bins)
    out[:, n_bins] = np.bincount(row, minlength=n_rows)
    out[:, n_bins + 1] = np.bincount(row, losses[:, 0], n_rows)
    out[:, n_bins + 2] = np.bincount(row, losses[:, 1], n_rows)
    return out


def _figure(sums: np.ndarray, which: int, n_bins: int) -> np.ndarray:
    """ECE (which 0), Brier (1) or log loss (2) from ``_bin_sums`` columns (..., n_bins + 3)."""
    n = sums[..., n_bins]
    with np.errstate(divide="ignore", invalid="ignore"):
        if which == 0:
            return np.abs(sums[..., :n_bins]).sum(axis=-1) / n
        return sums[..., n_bins + which] / n


def expected_calibration_error(p: np.ndarray, y: np.ndarray, n_bins: int = N_BINS) -> float:
    """ECE (Naeini et al. 2015; Guo et al. 2017, "On Calibration of Modern Neural
    Networks"): sum over bins of (n_bin / N) |accuracy_bin - mean confidence_bin| with
    confidence max(p, 1 - p) in 10 equal-width bins over [0.5, 1], accuracy the share of the
    more likely side among the humans' votes. NaN for no pairs."""
    p, y = np.asarray(p, float), np.asarray(y, float)
    sums = _bin_sums(np.zeros(p.size, dtype=np.int64), 1, _per_pair(p, y), n_bins)[0]
    return float(_figure(sums, 0, n_bins))


def fit_temperature(d: np.ndarray, y: np.ndarray) -> float | None:
    """T minimizing the mean log loss of p = sigmoid(d / T) against the vote shares y
    (Guo et al. 2017's temperature scaling on the Bradley-Terry margin, Bradley & Terry
    1952), by a bounded scalar search over log T (scipy.optimize.minimize_scalar).
    None when every margin is 0 (p = 0.5 whatever T)."""
    if d.size == 0 or not np.any(d != 0):
        return None

    # -log sigmoid(z) = logaddexp(0, -z), stable for large |z|, and -log(1 - sigmoid(z)) =
    # logaddexp(0, -z) + z: so the loss is mean(logaddexp(0, -z)) + mean((1 - y) d) / T,
    # one logaddexp per evaluation instead of two.
    linear = float(np.mean((1.0 - y) * d))

    def loss(log_t: float) -> float:
        scale = np.exp(-log_t)
        return float(np.mean(np.logaddexp(0.0, -scale * d)) + linear * scale)

    result = optimize.minimize_scalar(
        loss, bounds=(-LOG_T_BOUND, LOG_T_BOUND), method="bounded", options={"xatol": 1e-8}
    )
    return float(np.exp(result.x))


@dataclass(frozen=True)
class CalibrationSide:
    """Evaluation-side figures for one probability model, and the reliability diagram:
    per bin (lower edge ``bin_edges[k]``) the count, mean confidence and accuracy (NaN for
    an empty bin)."""

    ece: Estimate
    brier: Estimate
    log_loss: Estimate
    bin_edges: np.ndarray
    bin_count: np.ndarray
    bin_confidence: np.ndarray
    bin_accuracy: np.ndarray


@dataclass(frozen=True)
class Calibration:
    """``raw``: the scorer's own Bradley-Terry probabilities sigmoid(s_a - s_b) (T = 1, the
    reading of a reward model's logits), before any fitting; ``scaled``: with the fitted
    temperature; ``isotonic``: after isotonic regression."""

    temperature: float | None
    raw: CalibrationSide | None
    scaled: CalibrationSide | None
    isotonic: CalibrationSide | None
    reason: str = ""


def _side(
    prompt: np.ndarray,
    p: np.ndarray,
    y: np.ndarray,
    rng: _boot.Resampler | None,
    n_bins: int,
) -> CalibrationSide:
    """Figures of probabilities ``p`` against vote shares ``y``; ``rng``: the resampler
    over (at least) the distinct prompts of ``prompt``, or None for no CI."""
    pc, ids = _boot.compact(prompt)
    n_prompts = ids.size
    conf, hit, losses = _per_pair(p, y)
    per_prompt = _bin_sums(pc, n_prompts, (conf, hit, losses), n_bins)
    sums = per_prompt.sum(axis=0)
    point = {"n_units": n_prompts, "n_pairable": int(p.size)}

    def statistic(which: int) -> _boot.Statistic:
        return lambda resampled: _figure(resampled, which, n_bins)

    ece, brier, log_loss = _boot.estimates(
        rng,
        ids,
        per_prompt,
        0,
        [
            (statistic(k), Estimate(value=float(_figure(sums, k, n_bins)), **point))
            for k in range(3)
        ],
    )
    bins = bin_index(conf, n_bins)
    count = np.bincount(bins, minlength=n_bins).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        confidence = np.where(count > 0, np.bincount(bins, conf, n_bins) / count, np.nan)
        accuracy = np.where(count > 0, np.bincount(bins, hit, n_bins) / count, np.nan)
    edges = BIN_LOW + (1.0 - BIN_LOW) / n_bins * np.arange(n_bins)
    return CalibrationSide(
        ece, brier, log_loss, edges, count.astype(np.int64), confidence, accuracy
    )


def calibration(
    calibration_pairs: Pairs,
    evaluation_pairs: Pairs,
    scores: np.ndarray,
    *,
    higher_is_better: bool = True,
    rng: _boot.Rng = None,
    n_resamples: int = N_RESAMPLES,
    n_bins: int = N_BINS,
) -> Calibration:
    """Calibration (DESIGN 6.3). p(a preferred) = sigmoid((s_a - s_b) / T) with scores
    oriented by ``higher_is_better`` and T fitted on the calibration side (``fit_temperature``);
    the alternative is isotonic regression (Zadrozny & Elkan 2002; sklearn
    IsotonicRegression, increasing, clipped to [0, 1]) of the vote share of a on s_a - s_b,
    fitted on the calibration side with both orientations of each pair ((d, y) and
    (-d, 1 - y), so p(a) = 1 - p(b)). Both, and the unfitted sigmoid(s_a - s_b), are
    scored on the evaluation side: ECE, Brier score and log loss (against the vote share of
    a, tie votes one half) with CIs over evaluation prompts (the fits stay fixed; the three
    share one weight matrix), and reliability-diagram data. Pairs with an
    unscored response are left out. Undefined (``reason``) when a side has no scored pair
    or every calibration margin is 0."""
    dc = score_gaps(calibration_pairs, scores, higher_is_better)
    de = score_gaps(evaluation_pairs, scores, higher_is_better)
    kc, ke = ~np.isnan(dc), ~np.isnan(de)
    if not kc.any():
        return Calibration(None, None, None, None, "no calibration pair with both responses scored")
    if not ke.any():
        return Calibration(None, None, None, None, "no evaluation pair with both responses scored")
    yc, ye = calibration_pairs.share_a[kc], evaluation_pairs.share_a[ke]
    dc, de = dc[kc], de[ke]
    prompt = evaluation_pairs.prompt[ke]
    temperature = fit_temperature(dc, yc)
    if temperature is None:
        return Calibration(None, None, None, None, "every calibration pair has equal scores")
    iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
    iso.fit(np.r_[dc, -dc], np.r_[yc, 1.0 - yc])
    # The three probability models share one set of resamples: a Generator draws it here.
    if not isinstance(rng, _boot.Resampler):
        rng = (
            _boot.Resampler.draw(_boot.compact(prompt)[1], rng, n_resamples)
            if rng is not None and n_resamples > 0
            else None
        )
    return Calibration(
        temperature=temperature,
        raw=_side(prompt, special.expit(de), ye, rng, n_bins),
        scaled=_side(prompt, special.expit(de / temperature), ye, rng, n_bins),
        isotonic=_side(prompt, iso.predict(de), ye, rng, n_bins),
    )
