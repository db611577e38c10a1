"""Length bias and breakdowns by domain and generator model (DESIGN 6.3)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bootstrap import N_RESAMPLES
from ..results import Estimate, undefined
from . import _boot
from .accuracy import pairwise_accuracy, score_gaps
from .correlation import flat_rho, flat_tau, mean_over_prompts, per_prompt
from .pairs import TIE, A, Pairs, oriented


@dataclass(frozen=True)
class LengthBias:
    """``scorer_prefers_longer`` and ``humans_prefer_longer`` over voted pairs of different
    lengths. ``tertile_accuracy``: pairwise accuracy per tertile of |length_a - length_b|
    (shortest gaps first), with the two cut points. The scorer's Spearman with length is
    ``length_correlation``."""

    scorer_prefers_longer: Estimate
    humans_prefer_longer: Estimate
    tertile_cuts: tuple[float, float] | None
    tertile_accuracy: tuple[Estimate, Estimate, Estimate]


def length_bias(
    pairs: Pairs,
    scores: np.ndarray,
    lengths: np.ndarray,
    *,
    higher_is_better: bool = True,
    rng: _boot.Rng = None,
    n_resamples: int = N_RESAMPLES,
) -> LengthBias:
    """Length bias (DESIGN 6.3; the spurious feature of Singhal et al. 2023, "A Long Way to
    Go: Investigating Length Correlations in RLHF"). ``lengths`` are ``length_chars`` per
    response (same positions as ``scores``); ``pairs`` should be the voted pairs.

    - P(scorer prefers longer) = mean over pairs of different lengths of
      [s_longer > s_shorter] + 0.5 [s_longer = s_shorter] (a scorer tie is half a vote).
    - P(humans prefer longer) = mean vote share of the longer response over the same pairs
      (tie votes count one half, as in the calibration labels).
    - Accuracy per tertile of |length_a - length_b| over the pairs labelled a or b: cut points
      q1, q2 = the 1/3 and 2/3 quantiles (numpy linear) of the gaps; tertile 1 holds gaps
      <= q1, tertile 2 gaps in (q1, q2], tertile 3 gaps > q2.
    Undefined (with a reason) where a set is empty."""
    lengths = np.asarray(lengths, dtype=np.float64)
    d = score_gaps(pairs, scores, higher_is_better)
    gap = lengths[pairs.a] - lengths[pairs.b]
    differ = (gap != 0) & ~np.isnan(d)
    a_longer = gap > 0
    d_long = np.where(a_longer, d, -d)
    scorer_pref = (d_long > 0) + 0.5 * (d_long == 0)
    human_pref = np.where(a_longer, pairs.share_a, 1.0 - pairs.share_a)
    kwargs = {"rng": rng, "n_resamples": n_resamples}
    reason = "no scored pair of responses with different lengths"
    scorer = _boot.ratio_estimate(
        pairs.prompt, scorer_pref * differ, differ.astype(float), empty_reason=reason, **kwargs
    )
    humans = _boot.ratio_estimate(
        pairs.prompt, human_pref * differ, differ.astype(float), empty_reason=reason, **kwargs
    )
    decided = (pairs.label != TIE) & ~np.isnan(d)
    if not decided.any():
        none = undefined("no pair labelled a or b with both responses scored")
        return LengthBias(scorer, humans, None, (none, none, none))
    absgap = np.abs(gap)
    q1, q2 = (float(q) for q in np.quantile(absgap[decided], [1 / 3, 2 / 3]))
    tertile = np.where(absgap <= q1, 0, np.where(absgap <= q2, 1, 2))
    accs = tuple(
        pairwise_accuracy(
            pairs.subset(tertile == k), scores, higher_is_better=higher_is_better, **kwargs
        )
        for k in range(3)
    )
    return LengthBias(scorer, humans, (q1, q2), accs)


def length_correlation(
    scores: np.ndarray, lengths: np.ndarray, *, higher_is_better: bool = True
) -> Estimate:
    """rho_length (DESIGN 6.3): Spearman's rho of score with ``length_chars`` over the scored
    responses (pooled, no CI; ``flat_rho``), the length bias of a scorer on its own."""
    s = oriented(scores, higher_is_better)
    scored = ~np.isnan(s)
    return flat_rho(s[scored], np.asarray(lengths, dtype=np.float64)[scored])


def accuracy_by_group(
    pairs: Pairs,
    scores: np.ndarray,
    pair_groups: np.ndarray,
    *,
    higher_is_better: bool = True,
    rng: _boot.Rng = None,
    n_resamples: int = N_RESAMPLES,
) -> dict[int, Estimate]:
    """Pairwise accuracy per group (DESIGN 6.3 breakdowns). ``pair_groups`` is one group id
    per pair, or a (n_pairs, 2) array: by domain, the prompt's domain; by generator, the
    generators of responses a and b, so a pair counts once for each distinct generator in it.
    Each group's figure is ``pairwise_accuracy`` over its pairs, CI over its prompts."""
    groups = np.asarray(pair_groups, dtype=np.int64)
    if groups.ndim == 1:
        groups = groups[:, None]
    names = np.unique(groups)
    if names.size == 0:
        return {}
    member = np.stack([(groups == g).any(axis=1) for g in names], axis=1)
    d = score_gaps(pairs, scores, higher_is_better)
    used = (pairs.label != TIE) & ~np.isnan(d)
    correct = used & (np.where(pairs.label == A, d, -d) > 0)
    estimates = _boot.ratio_estimates(
        pairs.prompt,
        member & correct[:, None],
        member & used[:, None],
        rng=rng,
        n_resamples=n_resamples,
        empty_reason="no pair labelled a or b with both responses scored",
    )
    return {int(g): est for g, est in zip(names, estimates, strict=True)}


def tau_by_group(
    prompt: np.ndarray,
    scores: np.ndarray,
    human: np.ndarray,
    groups: np.ndarray,
    *,
    per_prompt_groups: bool,
    higher_is_better: bool = True,
    rng: _boot.Rng = None,
    n_resamples: int = N_RESAMPLES,
) -> dict[int, Estimate]:
    """Kendall tau_b per group, one group id per response (DESIGN 6.3 breakdowns).

    ``per_prompt_groups=True`` (domain: constant within a prompt): the per-prompt tau_b,
    averaged over the group's prompts, CI by reweighting them. ``False`` (generator model:
    usually one response per prompt, so within-prompt tau is undefined): the pooled tau_b of
    the group's responses (scipy.stats.kendalltau), without CI."""
    s = oriented(scores, higher_is_better)
    h = np.asarray(human, dtype=np.float64)
    keep = ~np.isnan(s) & ~np.isnan(h)
    prompt = np.asarray(prompt, dtype=np.int64)[keep]
    groups = np.asarray(groups, dtype=np.int64)[keep]
    s, h = s[keep], h[keep]
    out = {}
    if per_prompt_groups:
        pp = per_prompt(prompt, s, h)
        first = np.unique(prompt, return_index=True)[1]
        prompt_group = groups[first]
        for g in np.unique(groups):
            mine = prompt_group == g
            out[int(g)] = mean_over_prompts(
                pp.tau[mine], pp.prompt_ids[mine], rng=rng, n_resamples=n_resamples, what="values"
            )
        return out
    for g in np.unique(groups):
        member = groups == g
        out[int(g)] = flat_tau(s[member], h[member])
    return out
