"""Reads for aggregation: judgments into numpy arrays (one query each), runs for pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

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
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, Coalesce

from annotation.models import (
    Adjudication,
    Annotator,
    AnnotatorExclusion,
    Dispute,
    Domain,
    GoldItem,
    LikertJudgment,
    PairwiseJudgment,
    Project,
    Prompt,
    Response,
)

from .core.aggregate import A_WINS, B_WINS, TIE, AggregationInput, CriterionSpec
from .core.probes import PROBES
from .models import AggregationRun, ProbeScore, ResponseScore, ScorerScore, ScoringRun


def run_latest(project: Project) -> AggregationRun | None:
    """The project's latest finished run, or None."""
    return (
        AggregationRun.objects.filter(project=project, status=AggregationRun.Status.DONE)
        .order_by("-created_at", "-id")
        .first()
    )


def runs_recent(project: Project, *, limit: int = 10) -> list[AggregationRun]:
    return list(
        AggregationRun.objects.filter(project=project)
        .defer("agreement", "disputes", "config")
        .order_by("-created_at", "-id")[:limit]
    )


def runs_for_project(project: Project) -> QuerySet[AggregationRun]:
    """Every run of the project, newest first (the API's run list and lookups)."""
    return AggregationRun.objects.filter(project=project).order_by("-created_at", "-id")


def projects_with_unaggregated_judgments(*, last_run_before: datetime) -> list[int]:
    """Ids of the projects with judgments their latest run (whatever its status) did not
    read, whose latest run was created before ``last_run_before`` (or that have judgments and
    no run). One query: the latest run's time, cut-off and counts come in subqueries.

    Unread means an id above the run's highest id, or more judgments up to that id than the
    run read: one that committed after the run's snapshot with a lower id than one it read
    (ids are handed out before commits, which finish in any order)."""
    latest = AggregationRun.objects.filter(project=OuterRef("pk")).order_by("-created_at", "-id")

    def of_latest(path: str) -> Subquery:
        value = Cast(KT(path), IntegerField())
        return Subquery(latest.annotate(v=value).values("v")[:1])

    def unread(model, project_path: str, kind: str) -> Q:
        mine = model.objects.filter(**{project_path: OuterRef("pk")})
        up_to_cutoff = (
            mine.filter(id__lte=OuterRef(f"{kind}_cutoff"))
            .order_by()
            .values(project_path)
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Q(Exists(mine.filter(id__gt=OuterRef(f"{kind}_cutoff")))) | Q(
            **{f"{kind}_read__isnull": False, f"{kind}_read__lt": Subquery(up_to_cutoff)}
        )

    return list(
        Project.objects.annotate(
            last_run_at=Subquery(latest.values("created_at")[:1]),
            likert_cutoff=Coalesce(of_latest("config__judgment_cutoff__likert_max_id"), 0),
            pairwise_cutoff=Coalesce(of_latest("config__judgment_cutoff__pairwise_max_id"), 0),
            # What a finished run read (a failed run has no counts: its ids alone decide).
            # Left-out judgments (gold, excluded annotators) were seen too.
            likert_read=of_latest("counts__likert_judgments")
            + Coalesce(of_latest("counts__likert_judgments_left_out"), 0),
            pairwise_read=of_latest("counts__pairwise_judgments")
            + Coalesce(of_latest("counts__pairwise_judgments_left_out"), 0),
        )
        .filter(Q(last_run_at__isnull=True) | Q(last_run_at__lt=last_run_before))
        .filter(
            unread(LikertJudgment, "response__project", "likert")
            | unread(PairwiseJudgment, "prompt__project", "pairwise")
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


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


def annotator_labels(ids: list[int]) -> dict[int, str]:
    """Display names: the username, or the external id of an imported rater."""
    rows = Annotator.objects.filter(pk__in=ids).values_list("pk", "user__username", "external_id")
    return {pk: username or external for pk, username, external in rows}


def _row(name: str, level: str, estimate: dict, target: float) -> dict:
    value = estimate.get("value")
    return {
        "name": name,
        "level": level,
        **estimate,
        "meets": value is not None and value >= target,
        "ci_meets": estimate.get("ci_low") is not None and estimate["ci_low"] >= target,
    }


def run_panel(run: AggregationRun) -> dict:
    """What the lead's panel shows of a run: alpha rows against the target, per domain,
    pairwise, each annotator against the consensus, and the dispute queue."""
    target = run.config.get("agreement_target", 0.6)
    a = run.agreement
    rows = []
    for key, c in a.get("criteria", {}).items():
        own = c["level"]
        rows.append(
            {
                **_row(key, own, c["alpha"][own], target),
                "others": [
                    _row(key, lvl, e, target) for lvl, e in c["alpha"].items() if lvl != own
                ],
            }
        )
    overall = [_row("all criteria", lvl, e, target) for lvl, e in a.get("overall", {}).items()]
    pw = a.get("pairwise", {})
    pairwise = []
    if pw:
        pairwise = [
            _row("pairwise choices", "nominal alpha", pw["alpha_nominal"], target),
            _row("pairwise choices", "Fleiss' kappa", pw["fleiss_kappa"], target),
        ]
    domains = [
        {
            "name": name,
            "responses": d["responses"],
            "rows": [_row(k, v["level"], v["alpha"], target) for k, v in d["criteria"].items()],
        }
        for name, d in a.get("domains", {}).items()
    ]
    annotators = a.get("annotators", [])
    labels = annotator_labels([r["annotator_id"] for r in annotators])
    annotator_rows = sorted(
        ({**r, "label": labels.get(r["annotator_id"], r["annotator_id"])} for r in annotators),
        key=lambda r: (r["likert_r_mean"] is None, -(r["likert_r_mean"] or 0.0), str(r["label"])),
    )
    return {
        "target": target,
        "criteria": rows,
        "overall": overall,
        "pairwise": pairwise,
        "domains": domains,
        "annotators": annotator_rows,
        "criterion_keys": [c["key"] for c in run.config.get("criteria", [])],
        "n_disputes": len(run.disputes),
        "exclusions": [e for e in run.exclusions if e["count"]],
    }


def probe_arrays(run: ScoringRun) -> tuple[np.ndarray, dict[str, np.ndarray]] | None:
    """The inputs of ``core.probes.probe_effects`` for a run: the original scores of its
    sampled responses (ascending response id) and, per probe, the perturbed scores aligned
    to them (NaN where a score is missing). None unless the run's probes are done. Two
    queries."""
    if run.probe_status != ScoringRun.ProbeStatus.DONE:
        return None
    rows = list(ProbeScore.objects.filter(run=run).values_list("response_id", "probe", "score"))
    response_ids = np.array([r[0] for r in rows], dtype=np.int64)
    probes = np.array([r[1] for r in rows], dtype=object)
    values = np.array([r[2] for r in rows], dtype=np.float64)
    ids = np.unique(response_ids)
    at = np.searchsorted(ids, response_ids)
    perturbed = {}
    for probe in PROBES:
        perturbed[probe] = np.full(ids.size, np.nan)
        perturbed[probe][at[probes == probe]] = values[probes == probe]
    original = np.full(ids.size, np.nan)
    scored = np.array(
        ScorerScore.objects.filter(run=run, response_id__in=ids.tolist()).values_list(
            "response_id", "score"
        ),
        dtype=np.float64,
    ).reshape(-1, 2)
    original[np.searchsorted(ids, scored[:, 0].astype(np.int64))] = scored[:, 1]
    return original, perturbed


def run_prompts(*, run: AggregationRun) -> Iterator[tuple[int, str, int | None]]:
    """(prompt id, domain name, near-duplicate cluster) of every prompt with a scored
    response in the run: the input of a release's split (``scoring.core.splits``)."""
    scored = ResponseScore.objects.filter(run=run, final__isnull=False).values(
        "response__prompt_id"
    )
    return (
        Prompt.objects.filter(pk__in=scored)
        .order_by("id")
        .values_list("id", "domain__name", "near_dup_cluster")
        .iterator(chunk_size=2000)
    )


def response_model_names(project: Project, response_ids: np.ndarray) -> np.ndarray:
    """Each response's ``model_name`` ("" for none), aligned with the sorted
    ``response_ids`` (an aggregation input's): the players of the run's model ranking."""
    names = dict(
        Response.objects.filter(project=project).order_by().values_list("id", "model_name")
    )
    return np.array([names.get(int(i), "") for i in response_ids], dtype=object)
