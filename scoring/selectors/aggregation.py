"""Reads for one aggregation: judgments into numpy arrays (one query each), all from one
snapshot of the database, with what the run leaves out and the models' names."""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    Max,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from annotation.models import (
    Adjudication,
    AnnotatorExclusion,
    Dispute,
    Domain,
    GoldItem,
    LikertJudgment,
    PairwiseJudgment,
    Project,
    Response,
)

from ..core.aggregate import A_WINS, B_WINS, TIE, AggregationInput, CriterionSpec
from .runs import annotator_labels


def criteria_specs(project: Project) -> list[CriterionSpec]:
    return [
        CriterionSpec(key=k, scale_min=lo, scale_max=hi, level=level, weight=w)
        for k, lo, hi, level, w in project.criteria.order_by("position", "id").values_list(
            "key", "scale_min", "scale_max", "level", "weight"
        )
    ]


def _array(rows: list[tuple], width: int, dtype=np.float64) -> np.ndarray:
    return np.array(rows, dtype=dtype).reshape(-1, width)


def aggregation_input(project: Project, *, n_resamples: int) -> AggregationInput:
    """Everything one aggregation needs, in four queries (criteria, responses, Likert,
    pairwise), all read from one snapshot of the database. Ratings come out of the JSON in
    the database (``ratings ->> key``), cast to numbers there, so no JSON is decoded in
    Python; rows are ordered for a stable input. The input carries the id of every judgment
    read: the run records them, and its releases export exactly those."""
    with _one_snapshot():
        return _aggregation_input(project, n_resamples=n_resamples)


@contextmanager
def _one_snapshot():
    """Reads inside see one snapshot: judgments committed meanwhile (in any id order) are
    in none of the reads, so the responses, the Likert and the pairwise tables agree and the
    recorded ids are exactly what was aggregated. On PostgreSQL a REPEATABLE READ, read-only
    transaction; SQLite's transactions are snapshots already. Inside a caller's transaction
    the caller's isolation applies (the level can only be set on the outermost one).

    SQLite (the embedded default) opens every transaction IMMEDIATE, which would hold the
    write lock through the whole read and stall annotators' submissions; there the reads run
    outside a transaction. That is still exact: each statement sees one committed state, the
    judgments are read before the responses (so every response they name is there), and
    the ids recorded are the ids read."""
    outermost = not connection.in_atomic_block
    if outermost and connection.vendor == "sqlite":
        yield
        return
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


# Public name for a service that reads several selectors in one snapshot.
aggregation_snapshot = _one_snapshot


def _counted(project: Project, prompt_path: str) -> tuple[Exists, Exists]:
    """(is on a gold prompt, is by an excluded annotator) for a judgment queryset: what a
    run leaves out besides the gold answers themselves (DESIGN 4.5)."""
    return (
        Exists(GoldItem.objects.filter(prompt_id=OuterRef(prompt_path))),
        Exists(
            AnnotatorExclusion.objects.filter(
                project=project, annotator_id=OuterRef("annotator_id")
            )
        ),
    )


def aggregation_left_out(project: Project) -> dict:
    """What a run leaves out, counted: judgments on gold prompts and gold answers, and the
    judgments of each excluded annotator (who stay listed with 0 when they have none). Also
    the highest left-out ids, so the catch-up job does not take them for unread work. Call
    in the same snapshot as ``aggregation_input`` (``aggregation_snapshot``)."""
    out: dict = {"gold": {}, "max_id": {}}
    excluded: dict[int, dict[str, int]] = {
        a: {"likert": 0, "pairwise": 0}
        for a in AnnotatorExclusion.objects.filter(project=project)
        .order_by("annotator_id")
        .values_list("annotator_id", flat=True)
    }
    for kind, model, project_path, prompt_path in (
        ("likert", LikertJudgment, "response__project", "response__prompt_id"),
        ("pairwise", PairwiseJudgment, "prompt__project", "prompt_id"),
    ):
        on_gold, by_excluded = _counted(project, prompt_path)
        mine = model.objects.filter(**{project_path: project}).annotate(
            on_gold=on_gold, by_excluded=by_excluded
        )
        gold = Q(gold=True) | Q(on_gold=True)
        out["gold"][kind] = mine.filter(gold).count()
        for annotator_id, n in (
            mine.filter(by_excluded=True)
            .exclude(gold)
            .values_list("annotator_id")
            .annotate(n=Count("id"))
            .order_by()
        ):
            excluded[annotator_id][kind] = n
        out["max_id"][kind] = (
            mine.filter(gold | Q(by_excluded=True)).aggregate(m=Max("id"))["m"] or 0
        )
    labels = annotator_labels(list(excluded))
    out["excluded_annotators"] = [
        {"annotator_id": a, "annotator": labels.get(a, str(a)), **n} for a, n in excluded.items()
    ]
    return out


def _aggregation_input(project: Project, *, n_resamples: int) -> AggregationInput:
    criteria = criteria_specs(project)
    likert_gold, likert_excluded = _counted(project, "response__prompt_id")
    pair_gold, pair_excluded = _counted(project, "prompt_id")
    rating_columns = {
        f"c{i}": Cast(KT(f"ratings__{c.key}"), FloatField()) for i, c in enumerate(criteria)
    }
    # The id column rides along as float64: exact for ids below 2**53.
    likert = _array(
        list(
            LikertJudgment.objects.filter(response__project=project, gold=False)
            .filter(~likert_gold, ~likert_excluded)
            .annotate(**rating_columns)
            .order_by("response_id", "annotator_id")
            .values_list("id", "response_id", "annotator_id", *rating_columns)
        ),
        3 + len(criteria),
    )
    outcome = Case(
        When(choice=PairwiseJudgment.Choice.TIE, then=Value(TIE)),
        When(
            Q(choice=PairwiseJudgment.Choice.LEFT, left=F("response_a"))
            | Q(choice=PairwiseJudgment.Choice.RIGHT, right=F("response_a")),
            then=Value(A_WINS),
        ),
        default=Value(B_WINS),
        output_field=IntegerField(),
    )
    pairwise = _array(
        list(
            PairwiseJudgment.objects.filter(prompt__project=project, gold=False)
            .filter(~pair_gold, ~pair_excluded)
            .annotate(outcome=outcome)
            .order_by("response_a_id", "response_b_id", "annotator_id")
            .values_list("id", "response_a_id", "response_b_id", "annotator_id", "outcome")
        ),
        5,
        np.int64,
    )
    # Read after the judgments: every response a judgment names is in this read.
    responses = _array(
        list(
            Response.objects.filter(project=project)
            .filter(~Exists(GoldItem.objects.filter(prompt_id=OuterRef("prompt_id"))))
            .order_by("id")
            .values_list("id", "prompt_id", "prompt__domain_id")
        ),
        3,
        np.int64,
    )
    return AggregationInput(
        criteria=criteria,
        response_ids=responses[:, 0],
        response_prompts=responses[:, 1],
        response_domains=responses[:, 2],
        domain_names=dict(Domain.objects.filter(project=project).values_list("id", "name")),
        likert_responses=likert[:, 1].astype(np.int64),
        likert_annotators=likert[:, 2].astype(np.int64),
        likert_values=likert[:, 3:],
        pair_a=pairwise[:, 1],
        pair_b=pairwise[:, 2],
        pair_annotators=pairwise[:, 3],
        pair_outcomes=pairwise[:, 4],
        likert_quorum=project.likert_quorum,
        pairwise_quorum=project.pairwise_quorum,
        likert_ids=likert[:, 0].astype(np.int64),
        pairwise_ids=pairwise[:, 0],
        blend_alpha=project.blend_alpha,
        pairwise_method=project.pairwise_method,
        seed=project.seed,
        tie_tolerance=project.tie_tolerance,
        n_resamples=n_resamples,
        **adjudication_arrays(project, criteria),
    )


def adjudication_arrays(project: Project, criteria: list[CriterionSpec]) -> dict:
    """The adjudications in force (their dispute is still adjudicated) as AggregationInput
    fields, in one query, ordered for a stable input."""
    rows = list(
        Adjudication.objects.filter(
            dispute__project=project, dispute__status=Dispute.Status.ADJUDICATED
        )
        .order_by("dispute__kind", "dispute__response_a_id", "dispute__response_b_id")
        .values_list(
            "dispute__kind", "dispute__response_a_id", "dispute__response_b_id", "ratings", "choice"
        )
    )
    likert = [r for r in rows if r[0] == Dispute.Kind.LIKERT]
    pairs = [r for r in rows if r[0] == Dispute.Kind.PAIRWISE]
    outcome = {"a": A_WINS, "b": B_WINS, "tie": TIE}
    return {
        "adjudicated_responses": np.array([r[1] for r in likert], dtype=np.int64),
        "adjudicated_values": np.array(
            [[r[3].get(c.key, np.nan) for c in criteria] for r in likert], dtype=np.float64
        ).reshape(len(likert), len(criteria)),
        "adjudicated_pair_a": np.array([r[1] for r in pairs], dtype=np.int64),
        "adjudicated_pair_b": np.array([r[2] for r in pairs], dtype=np.int64),
        "adjudicated_pair_outcomes": np.array([outcome[r[4]] for r in pairs], dtype=np.int64),
    }


def response_model_names(project: Project, response_ids: np.ndarray) -> np.ndarray:
    """Each response's ``model_name`` ("" for none), aligned with the sorted
    ``response_ids`` (an aggregation input's): the players of the run's model ranking."""
    names = dict(
        Response.objects.filter(project=project).order_by().values_list("id", "model_name")
    )
    return np.array([names.get(int(i), "") for i in response_ids], dtype=object)
