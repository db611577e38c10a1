"""The human noise ceiling of an aggregation run's humans (DESIGN 6.3): agreement of each
vote with the leave-one-out plurality, of each Likert rating with the leave-one-out mean,
and how often the humans prefer the longer response.

The layout of the document is in the package docstring."""

from __future__ import annotations

import numpy as np

from ..core import metaeval as me
from ..core.metaeval import _boot
from .humans import Humans
from .pair_figures import _e


def ceiling_figures(humans: Humans) -> dict:
    """The human noise ceiling (DESIGN 6.3) of the run's humans (``NoiseCeiling.figures``)."""
    prompt, pair, annotator, choice = humans.votes
    votes = None
    if pair.size:
        # Only votes on the pairs the scorers are measured on: pairs with a strict plurality.
        c = me.noise_ceiling_votes(
            prompt,
            pair,
            annotator,
            choice,
            int(annotator.max()) + 1,
            rng=humans.resampler,
            n_resamples=humans.n_resamples,
        )
        votes = {"value": _e(c.value), "n_annotators": int((c.n > 0).sum())}
    unit, lk_annotator, value = humans.likert
    likert = None
    if unit.size:
        c = me.noise_ceiling_likert(unit, lk_annotator, value, int(lk_annotator.max()) + 1)
        likert = {"value": _e(c.value), "n_annotators": int(np.isfinite(c.per_annotator).sum())}
    voted = humans.voted
    prefer_longer = None
    if len(voted):
        gap = humans.length[voted.a] - humans.length[voted.b]
        differ = gap != 0
        share_longer = np.where(gap > 0, voted.share_a, 1.0 - voted.share_a)
        prefer_longer = _e(
            _boot.ratio_estimate(
                voted.prompt,
                np.where(differ, share_longer, 0.0),
                differ.astype(np.float64),
                rng=humans.resampler,
                n_resamples=humans.n_resamples,
                empty_reason="no voted pair of responses of different lengths",
            )
        )
    return {"votes": votes, "likert": likert, "humans_prefer_longer": prefer_longer}
