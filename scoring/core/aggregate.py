"""One aggregation, from judgment arrays to scores, agreement and disputes (DESIGN 5).

Pure: the service reads the database into an ``AggregationInput``, calls ``aggregate`` and
stores the ``AggregationResult``. Everything here is deterministic given the input: the
bootstrap draws from ``numpy.random.default_rng([seed, stream])``, one fixed stream per
statistic, so adding a domain does not move another figure's interval.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import adjudication, bradley_terry, consensus, disputes, kappa, krippendorff, scores
from .bootstrap import N_RESAMPLES
from .results import Estimate

# Pairwise outcomes in canonical orientation (response_a.pk < response_b.pk).
A_WINS, B_WINS, TIE = 0, 1, 2
OUTCOMES = ("a", "b", "tie")

STREAM_LIKERT, STREAM_PAIRWISE_ALPHA, STREAM_FLEISS, STREAM_DOMAIN = 0, 1, 2, 1000

# The pairwise score in the blend (a project setting): Borda, or the Bradley-Terry
# probability of beating the prompt's other responses (bradley_terry.per_prompt).
BORDA, BRADLEY_TERRY = "borda", "bradley_terry"
PAIRWISE_METHODS = (BORDA, BRADLEY_TERRY)


@dataclass(frozen=True)
class CriterionSpec:
    key: str
    scale_min: int
    scale_max: int
    level: str
    weight: float

    @property
    def domain(self) -> np.ndarray:
        return np.arange(self.scale_min, self.scale_max + 1, dtype=np.float64)


@dataclass
class AggregationInput:
    criteria: list[CriterionSpec]
    # Every response of the project, sorted by id.
    response_ids: np.ndarray
    response_prompts: np.ndarray
    response_domains: np.ndarray
    domain_names: dict[int, str]
    # Likert judgments: one row each; values (n, C) raw points, NaN where a criterion is unrated.
    likert_responses: np.ndarray
    likert_annotators: np.ndarray
    likert_values: np.ndarray
    # Pairwise judgments in canonical orientation; outcome A_WINS | B_WINS | TIE.
    pair_a: np.ndarray
    pair_b: np.ndarray
    pair_annotators: np.ndarray
    pair_outcomes: np.ndarray
    likert_quorum: int = 5
    pairwise_quorum: int = 3
    blend_alpha: float = 0.6
    pairwise_method: str = BORDA
    seed: int = 0
    tie_tolerance: float = 1e-6
    n_resamples: int = N_RESAMPLES
    min_shared: int = kappa.MIN_SHARED
    dispute_span: int = disputes.LIKERT_SPAN
    # The database ids of the judgments read, row by row (empty when the caller has none):
    # the run records them, and releases built from the run export exactly these.
    likert_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pairwise_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # A lead's adjudications in force (scoring.core.adjudication): responses with their
    # ratings (k, C) raw points; pairs in canonical orientation with an outcome.
    adjudicated_responses: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    adjudicated_values: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    adjudicated_pair_a: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    adjudicated_pair_b: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    adjudicated_pair_outcomes: np.ndarray = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )


@dataclass
class AggregationResult:
    counts: dict
    exclusions: list[dict]
    agreement: dict
    disputes: list[dict]
    tie_rule: dict
    # Per response (aligned with AggregationInput.response_ids); only rows with a judgment
    # are stored (``has_judgment``).
    has_judgment: np.ndarray
    criterion_means: np.ndarray
    criterion_score: np.ndarray
    borda: np.ndarray
    final: np.ndarray
    final_source: np.ndarray
    n_likert: np.ndarray
    n_pairwise: np.ndarray
    pairwise_wins: np.ndarray
    rank: np.ndarray
    flags: list[list[str]] = field(default_factory=list)


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed & 0xFFFFFFFFFFFFFFFF, stream])


def _est(e: Estimate) -> dict:
    return e.as_dict()


def _positions(ids: np.ndarray, sorted_ids: np.ndarray) -> np.ndarray:
    return np.searchsorted(sorted_ids, np.asarray(ids, dtype=np.int64))


def _union_domain(criteria: list[CriterionSpec]) -> np.ndarray:
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


def aggregate(inp: AggregationInput) -> AggregationResult:
    """Scores, agreement, disputes and exclusions for one project. See DESIGN 5 and the
    docstrings of scoring.core.scores, .krippendorff, .kappa, .consensus, .disputes."""
    criteria = inp.criteria
    n_resp = inp.response_ids.size
    n_crit = len(criteria)
    lr = _positions(inp.likert_responses, inp.response_ids)
    values = np.asarray(inp.likert_values, dtype=np.float64).reshape(-1, n_crit)
    normalized = (
        np.column_stack(
            [
                scores.normalize(values[:, c], s.scale_min, s.scale_max)
                for c, s in enumerate(criteria)
            ]
        )
        if n_crit
        else np.zeros((lr.size, 0))
    )

    # --- Likert scores -------------------------------------------------------------------
    means, _ = scores.group_means(lr, normalized, n_resp)
    n_likert = np.bincount(lr, minlength=n_resp)
    quorum_met = n_likert >= inp.likert_quorum
    means[~quorum_met] = np.nan
    # An adjudicated response takes its criterion means from the adjudication.
    present, at = adjudication.present_positions(inp.adjudicated_responses, inp.response_ids)
    likert_decided = np.zeros(n_resp, dtype=bool)
    likert_decided[at[present]] = True
    if n_crit and present.any():
        decided_values = np.asarray(inp.adjudicated_values, dtype=np.float64).reshape(-1, n_crit)
        means[at[present]] = np.column_stack(
            [
                scores.normalize(decided_values[present, c], s.scale_min, s.scale_max)
                for c, s in enumerate(criteria)
            ]
        )
    quorum_met |= likert_decided
    weights = np.array([c.weight for c in criteria])
    crit_score = scores.criterion_score(means, weights) if n_crit else np.full(n_resp, np.nan)
    unrated_criterion = quorum_met & np.isnan(crit_score)

    # --- Pairwise tallies and Borda ----------------------------------------------------
    pa, pb = _positions(inp.pair_a, inp.response_ids), _positions(inp.pair_b, inp.response_ids)
    outcomes = np.asarray(inp.pair_outcomes, dtype=np.int64)
    pair_keys = pa.astype(np.int64) * max(n_resp, 1) + pb
    uniq_pairs, pair_of_vote = np.unique(pair_keys, return_inverse=True)
    n_pairs = uniq_pairs.size
    tallies = np.bincount(pair_of_vote * 3 + outcomes, minlength=n_pairs * 3).reshape(n_pairs, 3)
    pair_a_idx, pair_b_idx = np.divmod(uniq_pairs, max(n_resp, 1))
    # An adjudicated pair's choice overrides its votes in the scores; agreement and disputes
    # keep the annotators' own votes (``tallies``).
    in_a, at_a = adjudication.present_positions(inp.adjudicated_pair_a, inp.response_ids)
    in_b, at_b = adjudication.present_positions(inp.adjudicated_pair_b, inp.response_ids)
    voted, pair_decided = adjudication.pair_overrides(
        tallies,
        uniq_pairs,
        (at_a * max(n_resp, 1) + at_b)[in_a & in_b],
        np.asarray(inp.adjudicated_pair_outcomes, dtype=np.int64)[in_a & in_b],
        inp.pairwise_quorum,
    )
    pair_n = voted.sum(axis=1)
    in_borda = pair_n >= inp.pairwise_quorum
    b = scores.borda(
        pair_a_idx[in_borda],
        pair_b_idx[in_borda],
        voted[in_borda, A_WINS],
        voted[in_borda, B_WINS],
        voted[in_borda, TIE],
        n_resp,
    )
    raw = scores.borda(
        pair_a_idx, pair_b_idx, voted[:, A_WINS], voted[:, B_WINS], voted[:, TIE], n_resp
    )
    n_pairwise, wins = raw.n_judgments, raw.wins

    # --- Bradley-Terry, when the project blends it instead of Borda ---------------------
    pairwise_score, bt_undefined, bt_counts = b.borda, np.zeros(n_resp, dtype=bool), {}
    if inp.pairwise_method == BRADLEY_TERRY:
        fit = bradley_terry.per_prompt(
            inp.response_prompts,
            pair_a_idx[in_borda],
            pair_b_idx[in_borda],
            voted[in_borda, A_WINS],
            voted[in_borda, B_WINS],
            voted[in_borda, TIE],
        )
        pairwise_score = fit.win_probability
        bt_undefined = ~np.isnan(b.borda) & np.isnan(fit.win_probability)
        bt_counts = {
            "prompts_bradley_terry": fit.prompts_fitted,
            "prompts_bradley_terry_undefined": fit.prompts_undefined,
            "bradley_terry_prior": fit.prior,
        }
    elif inp.pairwise_method != BORDA:
        raise ValueError(
            f"unknown pairwise_method {inp.pairwise_method!r}; use one of {PAIRWISE_METHODS}"
        )

    # --- Final scores and ranking --------------------------------------------------------
    final, source = scores.blend(crit_score, pairwise_score, inp.blend_alpha)
    top = int(np.argmax(weights)) if n_crit else 0  # the first of the most-weighted criteria
    tiebreak = means[:, top] if n_crit else np.full(n_resp, np.nan)
    ranking = scores.rank_within_prompt(
        inp.response_prompts,
        inp.response_ids,
        final,
        wins,
        tiebreak,
        seed=inp.seed,
        tolerance=inp.tie_tolerance,
    )

    # --- Disputes --------------------------------------------------------------------------
    spans = disputes.likert_spans(lr, values, n_resp)
    # An adjudicated item is decided: no longer a dispute.
    likert_disputed = disputes.likert_disputed(spans, inp.dispute_span) & ~likert_decided
    pair_disputed = disputes.pairwise_no_majority(tallies) & ~pair_decided
    dispute_rows: list[dict] = []
    for i in np.flatnonzero(likert_disputed):
        dispute_rows.append(
            {
                "kind": "likert",
                "response_id": int(inp.response_ids[i]),
                "prompt_id": int(inp.response_prompts[i]),
                "spans": {
                    criteria[c].key: int(spans[i, c])
                    for c in range(n_crit)
                    if not np.isnan(spans[i, c]) and spans[i, c] >= inp.dispute_span
                },
            }
        )
    for p in np.flatnonzero(pair_disputed):
        dispute_rows.append(
            {
                "kind": "pairwise",
                "prompt_id": int(inp.response_prompts[pair_a_idx[p]]),
                "response_a": int(inp.response_ids[pair_a_idx[p]]),
                "response_b": int(inp.response_ids[pair_b_idx[p]]),
                "votes": dict(zip(OUTCOMES, (int(x) for x in tallies[p]), strict=True)),
            }
        )
    pair_flagged = np.zeros(n_resp, dtype=bool)
    pair_flagged[pair_a_idx[pair_disputed]] = True
    pair_flagged[pair_b_idx[pair_disputed]] = True

    # --- Agreement -----------------------------------------------------------------------
    agreement = _agreement(inp, lr, values, normalized, pair_of_vote, tallies, outcomes)

    # --- Exclusions, counts, flags -------------------------------------------------------
    has_judgment = (n_likert > 0) | (n_pairwise > 0)
    below = (n_likert > 0) & ~quorum_met
    exclusions = [
        _exclusion(
            "below_likert_quorum",
            "responses",
            below,
            inp.response_ids,
            f"fewer than likert_quorum={inp.likert_quorum} Likert judgments: no criterion score",
        ),
        _exclusion(
            "criterion_not_rated",
            "responses",
            unrated_criterion,
            inp.response_ids,
            "quorum met, but a weighted criterion has no rating: no criterion score",
        ),
        {
            "reason": "below_pairwise_quorum",
            "what": "pairs",
            "count": int((~in_borda).sum()),
            "detail": f"fewer than pairwise_quorum={inp.pairwise_quorum} judgments: not in Borda",
        },
        _exclusion(
            "no_final_score",
            "responses",
            has_judgment & np.isnan(final),
            inp.response_ids,
            "judged, but neither a criterion score nor a Borda score: not ranked",
        ),
    ]
    if inp.pairwise_method == BRADLEY_TERRY:
        exclusions.insert(
            -1,
            _exclusion(
                "bradley_terry_undefined",
                "responses",
                bt_undefined,
                inp.response_ids,
                "pairs in Borda, but its prompt's pairs do not connect all of the prompt's "
                "compared responses: no Bradley-Terry score (pairwise_method=bradley_terry)",
            ),
        )
    flags: list[list[str]] = []
    for i in range(n_resp):
        f = []
        if below[i]:
            f.append("below_likert_quorum")
        if unrated_criterion[i]:
            f.append("criterion_not_rated")
        if likert_disputed[i]:
            f.append("disputed_likert")
        if pair_flagged[i]:
            f.append("disputed_pairwise")
        if likert_decided[i]:
            f.append("adjudicated")
        flags.append(f)
    counts = {
        "responses": int(n_resp),
        "responses_judged": int(has_judgment.sum()),
        "responses_scored": int((~np.isnan(final)).sum()),
        "responses_likert_quorum": int(quorum_met.sum()),
        "responses_blend": int((source == scores.BLEND).sum()),
        "responses_criteria_only": int((source == scores.CRITERIA_ONLY).sum()),
        "responses_borda_only": int((source == scores.BORDA_ONLY).sum()),
        "prompts_ranked": int(np.unique(inp.response_prompts[~np.isnan(final)]).size),
        "likert_judgments": int(lr.size),
        "pairwise_judgments": int(pa.size),
        "pairs": int(n_pairs),
        "pairs_in_borda": int(in_borda.sum()),
        "annotators": int(
            np.unique(np.concatenate([inp.likert_annotators, inp.pair_annotators])).size
        ),
        "pairs_majority": dict(
            zip(
                (*OUTCOMES, "none"),
                (
                    int(x)
                    for x in np.bincount(disputes.majority(tallies) + 1, minlength=4)[[1, 2, 3, 0]]
                ),
                strict=True,
            )
        )
        if n_pairs
        else {},
        "disputes_likert": int(likert_disputed.sum()),
        "disputes_pairwise": int(pair_disputed.sum()),
        "responses_adjudicated": int(likert_decided.sum()),
        "pairs_adjudicated": int(pair_decided.sum()),
        **bt_counts,
    }
    tie_rule = {
        "order": "final score, descending, within each prompt",
        "tolerance": inp.tie_tolerance,
        "tie_breakers": [
            "more pairwise wins",
            f"higher mean on the most-weighted criterion ({criteria[top].key if n_crit else '-'})",
            f"ascending sha256('{inp.seed}:<response id>')",
        ],
        "most_weighted_criterion": criteria[top].key if n_crit else None,
        "seed": inp.seed,
        "tie_groups": ranking.tie_groups,
        "decided_by": ranking.decided_by,
    }
    return AggregationResult(
        counts=counts,
        exclusions=exclusions,
        agreement=agreement,
        disputes=dispute_rows,
        tie_rule=tie_rule,
        has_judgment=has_judgment,
        criterion_means=means,
        criterion_score=crit_score,
        borda=b.borda,
        final=final,
        final_source=source,
        n_likert=n_likert,
        n_pairwise=n_pairwise,
        pairwise_wins=wins,
        rank=ranking.rank,
        flags=flags,
    )


def _exclusion(reason: str, what: str, mask: np.ndarray, ids: np.ndarray, detail: str) -> dict:
    hit = ids[mask]
    return {
        "reason": reason,
        "what": what,
        "count": int(hit.size),
        "detail": detail,
        "sample_ids": [int(x) for x in hit[:20]],
    }


def _agreement(
    inp: AggregationInput,
    lr: np.ndarray,
    values: np.ndarray,
    normalized: np.ndarray,
    pair_of_vote: np.ndarray,
    tallies: np.ndarray,
    outcomes: np.ndarray,
) -> dict:
    n_resp = inp.response_ids.size
    criteria = inp.criteria
    has_ci = inp.n_resamples > 0
    agreement: dict = {"n_resamples": inp.n_resamples, "confidence": 0.95}

    # Likert, all domains. Units are responses; only responses with a rating take part.
    if criteria and lr.size:
        per_criterion, overall = _likert_agreement(
            inp, lr, n_resp, _rng(inp.seed, STREAM_LIKERT) if has_ci else None
        )
    else:
        per_criterion, overall = {}, {}
    agreement["criteria"] = per_criterion
    agreement["overall"] = overall

    # Per domain: each criterion at its own level, and the pooled overall.
    domains = {}
    resp_domain = inp.response_domains[lr] if lr.size else np.zeros(0, dtype=np.int64)
    for dom_id in sorted(inp.domain_names):
        rows = resp_domain == dom_id
        if not rows.any() or not criteria:
            continue
        sub_units, sub_index = np.unique(lr[rows], return_inverse=True)
        sub = AggregationInput(
            criteria=criteria,
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
        crit, dom_overall = _likert_agreement(
            sub,
            sub_index,
            sub_units.size,
            _rng(inp.seed, STREAM_DOMAIN + int(dom_id)) if has_ci else None,
        )
        domains[inp.domain_names[dom_id]] = {
            "criteria": {
                key: {"level": v["level"], "alpha": v["alpha"][v["level"]]}
                for key, v in crit.items()
            },
            "overall": dom_overall,
            "responses": int(sub_units.size),
        }
    agreement["domains"] = domains

    # Pairwise: nominal alpha and Fleiss' kappa over pairs, tie a category of its own.
    if tallies.shape[0]:
        agreement["pairwise"] = {
            "alpha_nominal": _est(
                krippendorff.alpha(
                    tallies,
                    np.arange(3.0),
                    "nominal",
                    rng=_rng(inp.seed, STREAM_PAIRWISE_ALPHA) if has_ci else None,
                    n_resamples=inp.n_resamples,
                )
            ),
            "fleiss_kappa": _est(
                kappa.fleiss_kappa(
                    tallies,
                    rng=_rng(inp.seed, STREAM_FLEISS) if has_ci else None,
                    n_resamples=inp.n_resamples,
                )
            ),
        }
    else:
        agreement["pairwise"] = {}

    # Cohen's kappa for annotator pairs sharing >= min_shared tasks.
    cohen_likert = []
    for c, spec in enumerate(criteria):
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
    cohen_pairwise = [
        {"a": pk.coder_a, "b": pk.coder_b, "n_shared": pk.n_shared, "kappa": _est(pk.kappa)}
        for pk in kappa.cohen_kappa_pairs(
            pair_of_vote,
            inp.pair_annotators,
            outcomes.astype(np.float64),
            3,
            min_shared=inp.min_shared,
        )
    ]
    agreement["cohen"] = {
        "min_shared": inp.min_shared,
        "likert": cohen_likert,
        "pairwise": cohen_pairwise,
    }

    # Each annotator against the leave-one-out consensus of the others.
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
    agreement["annotators"] = rows
    return agreement


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)
