"""The human side of a meta-evaluation: one aggregation run as arrays (DESIGN 6.3)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from django.apps import apps
from django.db.models import Case, F, FloatField, IntegerField, Q, Value, When
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Length

from annotation.models import LikertJudgment, PairwiseJudgment, Response

from ..core import metaeval as me
from ..core.bootstrap import N_RESAMPLES
from ..core.splits import TRAIN, split_prompts
from ..models import (
    AggregationRun,
    ScoringRun,
)
from ..selectors import run_prompts

logger = logging.getLogger(__name__)


# --- The human side: one aggregation run, read once, shared by every scorer ------------


@dataclass
class Humans:
    """One aggregation run's humans as arrays over the responses it scored (positions 0..n-1
    in response id order), plus the voted and score-derived pairs over those positions."""

    run: AggregationRun
    response_ids: np.ndarray
    prompt: np.ndarray
    domain: np.ndarray
    domain_names: list[str]
    generator: np.ndarray
    generator_names: list[str]
    length: np.ndarray
    final: np.ndarray
    criteria: dict[str, np.ndarray]
    voted: me.Pairs
    derived: me.Pairs
    calibration_prompt: np.ndarray  # sorted prompt ids on the calibration side
    sides: dict
    votes: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # prompt, pair, annotator, choice
    likert: tuple[np.ndarray, np.ndarray, np.ndarray]  # unit, annotator, value
    resampler: me.Resampler
    n_resamples: int
    sides_cache: dict = field(default_factory=dict, repr=False)

    def positions(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Positions of response ids among the run's responses, and which were found."""
        pos = np.searchsorted(self.response_ids, ids)
        pos = np.minimum(pos, max(self.response_ids.size - 1, 0))
        found = self.response_ids.size > 0
        hit = (self.response_ids[pos] == ids) if found else np.zeros(ids.shape, dtype=bool)
        return pos, hit

    def side(self, pairs: me.Pairs, calibration_prompt: np.ndarray) -> tuple[me.Pairs, me.Pairs]:
        """(calibration, evaluation) pairs; kept for the next scorer on the same sides."""
        key = (pairs.kind, len(pairs), calibration_prompt.tobytes())
        if key not in self.sides_cache:
            cal = np.isin(pairs.prompt, calibration_prompt)
            self.sides_cache[key] = (pairs.subset(cal), pairs.subset(~cal))
        return self.sides_cache[key]


def _codes(labels: list[str]) -> tuple[np.ndarray, list[str]]:
    names = sorted(set(labels))
    index = {name: i for i, name in enumerate(names)}
    return np.array([index[x] for x in labels], dtype=np.int64), names


def _judgment_filter(ids: np.ndarray, read: np.ndarray | None) -> np.ndarray:
    return np.ones(ids.size, dtype=bool) if read is None else np.isin(ids, read)


def _release_calibration_prompts(run: ScoringRun) -> tuple[np.ndarray, dict] | None:
    """The train side of the scoring run's release (DESIGN 6.3: calibration = train,
    evaluation = test), rebuilt by the release's own seeded split."""
    if run.release_version is None:
        return None
    release = (
        apps.get_model("exports", "Release")
        .objects.filter(project_id=run.project_id, version=run.release_version, status="ready")
        .first()
    )
    if release is None:
        return None
    split = split_prompts(
        run_prompts(run=release.run),
        test_fraction=release.test_fraction,
        seed=release.seed,
        holdout_domains=release.holdout_domains,
    )
    train = np.array(sorted(p for p, side in split.assignment.items() if side == TRAIN))
    return train.astype(np.int64), {
        "source": "release",
        "release_version": run.release_version,
        "seed": int(release.seed),
    }


def humans_read(run: AggregationRun, *, n_resamples: int = N_RESAMPLES) -> Humans:
    """Everything the meta-evaluation needs from one aggregation run, in five queries: its
    response scores, the responses' prompt, domain, generator and length, and the Likert and
    pairwise judgments it read (``AggregationRun.judgment_ids``; all of the project's for a
    run made before those were recorded)."""
    config = run.config or {}
    seed = int(config.get("seed", run.project.seed))
    tie_tolerance = float(config.get("tie_tolerance", run.project.tie_tolerance))
    criteria = config.get("criteria") or []
    keys = [c["key"] for c in criteria]
    finals = {
        rid: (np.nan if final is None else final, means or {})
        for rid, final, means in run.scores.values_list("response_id", "final", "criterion_means")
    }
    read = run.judgment_ids()
    outcome = Case(
        When(choice=PairwiseJudgment.Choice.TIE, then=Value(me.TIE)),
        When(
            Q(choice=PairwiseJudgment.Choice.LEFT, left=F("response_a"))
            | Q(choice=PairwiseJudgment.Choice.RIGHT, right=F("response_a")),
            then=Value(me.A),
        ),
        default=Value(me.B),
        output_field=IntegerField(),
    )
    pw = np.array(
        list(
            PairwiseJudgment.objects.filter(prompt__project_id=run.project_id)
            .annotate(outcome=outcome)
            .order_by("id")
            .values_list(
                "id", "prompt_id", "response_a_id", "response_b_id", "annotator_id", "outcome"
            )
        ),
        dtype=np.int64,
    ).reshape(-1, 6)
    pw = pw[_judgment_filter(pw[:, 0], None if read is None else read[1])]
    columns = {f"c{i}": Cast(KT(f"ratings__{k}"), FloatField()) for i, k in enumerate(keys)}
    lk = np.array(
        list(
            LikertJudgment.objects.filter(response__project_id=run.project_id)
            .annotate(**columns)
            .order_by("id")
            .values_list("id", "response_id", "annotator_id", *columns)
        ),
        dtype=np.float64,
    ).reshape(-1, 3 + len(keys))
    lk = lk[_judgment_filter(lk[:, 0].astype(np.int64), None if read is None else read[0])]

    ids = set(finals) | set(pw[:, 2].tolist()) | set(pw[:, 3].tolist())
    # The project's responses, kept in Python: an IN list of every id costs more to build
    # than reading the few responses nobody judged (benchmarks/metaeval.py).
    rows = [
        row
        for row in Response.objects.filter(project_id=run.project_id)
        .annotate(chars=Length("text"))
        .order_by("id")
        .values_list("id", "prompt_id", "prompt__domain__name", "model_name", "chars")
        if row[0] in ids
    ]
    response_ids = np.array([r[0] for r in rows], dtype=np.int64)
    domain, domain_names = _codes([r[2] for r in rows])
    generator, generator_names = _codes([r[3] or "(unnamed)" for r in rows])
    final = np.array([finals.get(r[0], (np.nan, {}))[0] for r in rows], dtype=np.float64)
    per_criterion = {
        k: np.array(
            [
                np.nan if (v := finals.get(r[0], (np.nan, {}))[1].get(k)) is None else v
                for r in rows
            ],
            dtype=np.float64,
        )
        for k in keys
    }
    prompt = np.array([r[1] for r in rows], dtype=np.int64)
    humans = Humans(
        run=run,
        response_ids=response_ids,
        prompt=prompt,
        domain=domain,
        domain_names=domain_names,
        generator=generator,
        generator_names=generator_names,
        length=np.array([r[4] for r in rows], dtype=np.float64),
        final=final,
        criteria=per_criterion,
        voted=me.voted_pairs(
            prompt[:0], prompt[:0], prompt[:0], prompt[:0], prompt[:0], prompt[:0]
        ),
        derived=me.score_derived_pairs(prompt, final, tie_tolerance),
        calibration_prompt=np.zeros(0, dtype=np.int64),
        sides={},
        votes=(prompt[:0],) * 4,
        likert=(prompt[:0], prompt[:0], final[:0]),
        resampler=me.Resampler.draw(np.unique(prompt), np.random.default_rng(seed), n_resamples),
        n_resamples=n_resamples,
    )
    # Voted pairs: one row per distinct pair with its tallies; positions into the responses.
    if pw.size:
        a_pos, _ = humans.positions(pw[:, 2])
        b_pos, _ = humans.positions(pw[:, 3])
        key = a_pos * max(len(rows), 1) + b_pos
        uniq, pair_index = np.unique(key, return_inverse=True)
        tallies = np.zeros((uniq.size, 3), dtype=np.int64)
        np.add.at(tallies, (pair_index, pw[:, 5]), 1)
        first = np.unique(pair_index, return_index=True)[1]
        humans.voted = me.voted_pairs(
            prompt[a_pos[first]],
            a_pos[first],
            b_pos[first],
            tallies[:, me.A],
            tallies[:, me.B],
            tallies[:, me.TIE],
        )
        annotators = np.unique(pw[:, 4], return_inverse=True)[1]
        humans.votes = (
            prompt[a_pos],
            pair_index.astype(np.int64),
            annotators.astype(np.int64),
            pw[:, 5],
        )
    # Likert: each judgment's own weighted criterion score (DESIGN 5), for the ceiling.
    if lk.size and criteria:
        lo = np.array([c["scale_min"] for c in criteria], dtype=np.float64)
        hi = np.array([c["scale_max"] for c in criteria], dtype=np.float64)
        w = np.array([c["weight"] for c in criteria], dtype=np.float64)
        value = ((lk[:, 3:] - lo) / (hi - lo)) @ w
        unit = np.unique(lk[:, 1].astype(np.int64), return_inverse=True)[1]
        annotator = np.unique(lk[:, 2].astype(np.int64), return_inverse=True)[1]
        humans.likert = (unit.astype(np.int64), annotator.astype(np.int64), value)
    # Sides outside a release: a seeded 50/50 split of prompt groups (DESIGN 6.3).
    uniq_prompts = np.unique(prompt)
    cal = me.calibration_split(uniq_prompts, np.random.default_rng([seed, 63]))
    humans.calibration_prompt = uniq_prompts[cal]
    humans.sides = {"source": "seeded", "release_version": None, "seed": seed}
    return humans
