"""Agreement for one aggregation: Krippendorff's alpha per criterion, pooled and per domain;
nominal alpha and Fleiss' kappa over pairs; Cohen's kappa per annotator pair; each annotator
against the leave-one-out consensus. Each bootstrap draws from its own fixed stream of
``numpy.random.default_rng([seed, stream])``, so adding a domain moves no other interval.
"""

from __future__ import annotations

import numpy as np

from .. import consensus, kappa, krippendorff, scores
from ..results import Estimate
from .inputs import AggregationInput, CriterionSpec

STREAM_LIKERT, STREAM_PAIRWISE_ALPHA, STREAM_FLEISS, STREAM_DOMAIN = 0, 1, 2, 1000


def _rng(seed: int, stream: int) -> np.random.Generator:
    """``default_rng([seed, stream])``, the seed taken modulo 2**64 (numpy wants it
    non-negative)."""
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, stream])


def _bootstrap_rng(inp: AggregationInput, stream: int) -> np.random.Generator | None:
    """The bootstrap generator of one statistic, or None (no interval) when
    ``inp.n_resamples`` is not positive."""
    return _rng(inp.seed, stream) if inp.n_resamples > 0 else None


def _est(e: Estimate) -> dict:
    return e.as_dict()


def _union_domain(criteria: list[CriterionSpec]) -> np.ndarray:
    """The sorted union of every criterion's points normalized to [0, 1]: the shared scale
    of the pooled overall alpha."""
    return np.unique(
        np.concatenate([scores.normalize(c.domain, c.scale_min, c.scale_max) for c in criteria])
    )


def _likert_agreement(
    inp: AggregationInput, units: np.ndarray, n_units: int, rng: np.random.Generator | None
) -> tuple[dict, dict]:
    """Per criterion (ordinal and interval, plus the criterion's own level) and overall (all
    criteria pooled on the normalized scale, units = (response, criterion), resampled by
    response)."""
    counts, doms, lvls = [], [], []
    union = _union_domain(inp.criteria)
    overall_per_unit = np.zeros((n_units, union.size, union.size))
    overall_units = 0
    for c, spec in enumerate(inp.criteria):
        cnt = krippendorff.value_counts(
            units, inp.likert_values[:, c], spec.domain, n_units=n_units
        )
        counts.append(cnt)
        doms.append(spec.domain)
        lvls.append(sorted({"ordinal", "interval", spec.level}, key=krippendorff.LEVELS.index))
        # The same counts on the union of normalized scales.
        cols = np.searchsorted(union, scores.normalize(spec.domain, spec.scale_min, spec.scale_max))
        wide = np.zeros((n_units, union.size))
        wide[:, cols] = cnt
        overall_per_unit += krippendorff.unit_coincidences(wide)
        overall_units += int((cnt.sum(axis=1) >= 2).sum())
    pairable = np.zeros(n_units, dtype=bool)
    for cnt in counts:
        pairable |= cnt.sum(axis=1) >= 2
    per_unit = [krippendorff.unit_coincidences(cnt[pairable]) for cnt in counts] + [
        overall_per_unit[pairable]
    ]
    results = krippendorff.alpha_from_unit_coincidences(
        per_unit,
        [*doms, union],
        [*lvls, ["ordinal", "interval"]],
        [int((cnt.sum(axis=1) >= 2).sum()) for cnt in counts] + [overall_units],
        rng=rng,
        n_resamples=inp.n_resamples,
    )
    per_criterion = {
        spec.key: {"level": spec.level, "alpha": {lvl: _est(e) for lvl, e in row.items()}}
        for spec, row in zip(inp.criteria, results[:-1], strict=True)
    }
    return per_criterion, {lvl: _est(e) for lvl, e in results[-1].items()}


def _agreement(
    inp: AggregationInput,
    lr: np.ndarray,
    values: np.ndarray,
    normalized: np.ndarray,
    pair_of_vote: np.ndarray,
    tallies: np.ndarray,
    outcomes: np.ndarray,
) -> dict:
    """The agreement report of one aggregation, step by step: Krippendorff's alpha over all
    domains, then per domain, the pairwise alpha and Fleiss' kappa, Cohen's kappa per
    annotator pair, and each annotator against the leave-one-out consensus.

    ``lr`` are the Likert rows' response positions, ``values`` their raw points (n, C) and
    ``normalized`` the same on [0, 1]; ``pair_of_vote``, ``tallies`` (pairs, 3) and
    ``outcomes`` come from ``pairwise.pair_tallies``. Intervals are 95% bootstrap CIs when
    ``inp.n_resamples > 0``, and absent otherwise.
    """
    per_criterion, overall = _likert_alpha(inp, lr)
    return {
        "n_resamples": inp.n_resamples,
        "confidence": 0.95,
        "criteria": per_criterion,
        "overall": overall,
        "domains": _domain_alpha(inp, lr, values),
        "pairwise": _pairwise_agreement(inp, tallies),
        "cohen": {
            "min_shared": inp.min_shared,
            "likert": _cohen_likert(inp, lr, values),
            "pairwise": _cohen_pairwise(inp, pair_of_vote, outcomes),
        },
        "annotators": _annotator_consensus(inp, lr, normalized, pair_of_vote, outcomes),
    }


def _likert_alpha(inp: AggregationInput, lr: np.ndarray) -> tuple[dict, dict]:
    """Likert alpha over all domains (``_likert_agreement``): units are responses; only
    responses with a rating take part. With no criteria or no Likert rows both parts are
    empty dicts. Bootstrap stream ``STREAM_LIKERT``."""
    if inp.criteria and lr.size:
        return _likert_agreement(inp, lr, inp.response_ids.size, _bootstrap_rng(inp, STREAM_LIKERT))
    return {}, {}


def _domain_alpha(inp: AggregationInput, lr: np.ndarray, values: np.ndarray) -> dict:
    """Per domain, keyed by domain name in domain id order: each criterion's alpha at its
    own level, the pooled overall (``_likert_agreement`` on the domain's rows only) and the
    number of rated responses. A domain without Likert rows, and every domain when there
    are no criteria, is left out. Bootstrap stream ``STREAM_DOMAIN + domain id``, so adding
    a domain moves no other domain's interval."""
    domains = {}
    resp_domain = inp.response_domains[lr] if lr.size else np.zeros(0, dtype=np.int64)
    for dom_id in sorted(inp.domain_names):
        rows = resp_domain == dom_id
        if not rows.any() or not inp.criteria:
            continue
        sub, sub_index = _domain_input(inp, lr, values, rows)
        crit, dom_overall = _likert_agreement(
            sub,
            sub_index,
            sub.likert_responses.size,
            _bootstrap_rng(inp, STREAM_DOMAIN + int(dom_id)),
        )
        domains[inp.domain_names[dom_id]] = {
            "criteria": {
                key: {"level": v["level"], "alpha": v["alpha"][v["level"]]}
                for key, v in crit.items()
            },
            "overall": dom_overall,
            "responses": int(sub.likert_responses.size),
        }
    return domains


def _domain_input(
    inp: AggregationInput, lr: np.ndarray, values: np.ndarray, rows: np.ndarray
) -> tuple[AggregationInput, np.ndarray]:
    """The Likert rows ``rows`` (a boolean mask) as an input of their own for
    ``_likert_agreement``: ``likert_responses`` holds the domain's distinct response
    positions (sorted) and the returned index maps each row to its unit there. No pairwise
    rows; everything else but ``n_resamples`` keeps its default."""
    sub_units, sub_index = np.unique(lr[rows], return_inverse=True)
    sub = AggregationInput(
        criteria=inp.criteria,
        response_ids=inp.response_ids,
        response_prompts=inp.response_prompts,
        response_domains=inp.response_domains,
        domain_names=inp.domain_names,
        likert_responses=sub_units,
        likert_annotators=inp.likert_annotators[rows],
        likert_values=values[rows],
        pair_a=inp.pair_a[:0],
        pair_b=inp.pair_b[:0],
        pair_annotators=inp.pair_annotators[:0],
        pair_outcomes=inp.pair_outcomes[:0],
        n_resamples=inp.n_resamples,
    )
    return sub, sub_index


def _pairwise_agreement(inp: AggregationInput, tallies: np.ndarray) -> dict:
    """Nominal alpha (Krippendorff 2011) and Fleiss' kappa (Fleiss 1971) over pairs, from
    (pairs, 3) tallies of a / b / tie: a tie is a category of its own. An empty dict when no
    pair was judged. Bootstrap streams ``STREAM_PAIRWISE_ALPHA`` and ``STREAM_FLEISS``."""
    if not tallies.shape[0]:
        return {}
    return {
        "alpha_nominal": _est(
            krippendorff.alpha(
                tallies,
                np.arange(3.0),
                "nominal",
                rng=_bootstrap_rng(inp, STREAM_PAIRWISE_ALPHA),
                n_resamples=inp.n_resamples,
            )
        ),
        "fleiss_kappa": _est(
            kappa.fleiss_kappa(
                tallies,
                rng=_bootstrap_rng(inp, STREAM_FLEISS),
                n_resamples=inp.n_resamples,
            )
        ),
    }


def _cohen_likert(inp: AggregationInput, lr: np.ndarray, values: np.ndarray) -> list[dict]:
    """Cohen's kappa (Cohen 1960) per criterion for annotator pairs sharing >=
    ``inp.min_shared`` rated responses: categories are points above ``scale_min``,
    quadratic weights unless the criterion is nominal (then unweighted, ``"none"``).
    Unrated (NaN) values are skipped; pairs sharing too little are left out, so the list
    may be empty. Ordered by criterion, then (a, b)."""
    cohen_likert = []
    for c, spec in enumerate(inp.criteria):
        present = ~np.isnan(values[:, c])
        cats = values[present, c] - spec.scale_min
        weighting = None if spec.level == "nominal" else "quadratic"
        for pk in kappa.cohen_kappa_pairs(
            lr[present],
            inp.likert_annotators[present],
            cats,
            spec.scale_max - spec.scale_min + 1,
            min_shared=inp.min_shared,
            weighting=weighting,
        ):
            cohen_likert.append(
                {
                    "criterion": spec.key,
                    "weighting": weighting or "none",
                    "a": pk.coder_a,
                    "b": pk.coder_b,
                    "n_shared": pk.n_shared,
                    "kappa": _est(pk.kappa),
                }
            )
    return cohen_likert


def _cohen_pairwise(
    inp: AggregationInput, pair_of_vote: np.ndarray, outcomes: np.ndarray
) -> list[dict]:
    """Unweighted Cohen's kappa over the three pairwise outcomes (a / b / tie) for
    annotator pairs sharing >= ``inp.min_shared`` pairs; empty when none do."""
    return [
        {"a": pk.coder_a, "b": pk.coder_b, "n_shared": pk.n_shared, "kappa": _est(pk.kappa)}
        for pk in kappa.cohen_kappa_pairs(
            pair_of_vote,
            inp.pair_annotators,
            outcomes.astype(np.float64),
            3,
            min_shared=inp.min_shared,
        )
    ]


def _annotator_consensus(
    inp: AggregationInput,
    lr: np.ndarray,
    normalized: np.ndarray,
    pair_of_vote: np.ndarray,
    outcomes: np.ndarray,
) -> list[dict]:
    """Each annotator (Likert or pairwise, by id) against the leave-one-out consensus of
    the others (``consensus.likert_consensus`` on normalized ratings,
    ``consensus.choice_consensus`` on pairwise outcomes). Per criterion r is None where
    undefined; the means over criteria are None when no criterion has a defined figure;
    ``likert_units`` is 0 with no criteria."""
    criteria = inp.criteria
    annotator_ids = np.unique(
        np.concatenate([inp.likert_annotators, inp.pair_annotators]).astype(np.int64)
    )
    n_ann = annotator_ids.size
    la = np.searchsorted(annotator_ids, inp.likert_annotators)
    pw = np.searchsorted(annotator_ids, inp.pair_annotators)
    lc = consensus.likert_consensus(lr, la, normalized, n_ann)
    cc = consensus.choice_consensus(pair_of_vote, pw, outcomes, 3, n_ann)
    n_likert_by = np.bincount(la, minlength=n_ann)
    n_pair_by = np.bincount(pw, minlength=n_ann)
    rows = []
    for k, ann in enumerate(annotator_ids):
        r = {spec.key: _num(lc.r[k, c]) for c, spec in enumerate(criteria)}
        defined = [v for v in r.values() if v is not None]
        mae = [lc.mae[k, c] for c in range(len(criteria)) if not np.isnan(lc.mae[k, c])]
        rows.append(
            {
                "annotator_id": int(ann),
                "n_likert": int(n_likert_by[k]),
                "n_pairwise": int(n_pair_by[k]),
                "likert_units": int(lc.n[k].max()) if criteria else 0,
                "likert_r": r,
                "likert_r_mean": float(np.mean(defined)) if defined else None,
                "likert_mae_mean": float(np.mean(mae)) if mae else None,
                "pairwise_units": int(cc.n[k]),
                "pairwise_agreement": _num(cc.agreement[k]),
            }
        )
    return rows


def _num(x: float) -> float | None:
    """NaN (an undefined figure) as None, anything else as a Python float."""
    return None if np.isnan(x) else float(x)
