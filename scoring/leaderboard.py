"""Reads for the scorer leaderboard (DESIGN 6.5): per scorer the project may use, its latest
finished scoring run measured against the project's latest finished aggregation run, the
human noise ceiling, and what a scorer without figures is waiting for.

Four queries whatever the number of scorers: the latest aggregation run, the scorers with
their latest and latest finished run ids (subqueries), those runs, and their
meta-evaluations with the noise ceiling.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, OuterRef, Q, Subquery
from django.http import Http404

from annotation.models import Project

from .models import AggregationRun, MetaEvaluation, NoiseCeiling, Scorer, ScoringRun
from .selectors import run_latest


class State:
    """Why a row has figures or not, in words for the page and the API."""

    READY = "ready"
    NO_RUN = "no_run"
    QUEUED = "queued"
    RUNNING = "running"
    FAILED = "failed"
    NO_AGGREGATION = "no_aggregation"
    PENDING = "pending"
    METAEVAL_FAILED = "metaeval_failed"


STATE_TEXT = {
    State.READY: "",
    State.NO_RUN: "Not run yet: start a scoring run (leads), or import its scores.",
    State.QUEUED: "Queued: waiting for a scoring worker.",
    State.RUNNING: "Scoring the project's responses.",
    State.FAILED: "Its latest scoring run failed; start it again to resume.",
    State.NO_AGGREGATION: (
        "No finished aggregation run yet: aggregate the human judgments first "
        "(Aggregation and agreement page, or manage.py aggregate)."
    ),
    State.PENDING: "Meta-evaluation pending: it is computed when the run or an aggregation "
    "finishes.",
    State.METAEVAL_FAILED: "The meta-evaluation failed.",
}

# ?sort= keys: (the headline figure, True when higher is better). Length bias sorts by the
# gap between how often the scorer and the humans prefer the longer response.
SORTS = {
    "accuracy": ("accuracy", True),
    "acc_eq": ("acc_eq", True),
    "tau": ("tau_prompt", True),
    "ece": ("ece", False),
    "length": ("prefers_longer", False),
    "probes": ("probe_sensitivity", False),
}
DEFAULT_SORT = "accuracy"


@dataclass(frozen=True)
class Row:
    scorer: Scorer
    run: ScoringRun | None  # the latest run, whatever its status
    finished: ScoringRun | None  # the latest finished run (the one measured)
    metaeval: MetaEvaluation | None
    state: str

    @property
    def state_text(self) -> str:
        if self.state == State.METAEVAL_FAILED and self.metaeval and self.metaeval.error:
            return f"{STATE_TEXT[self.state]} {self.metaeval.error}"
        return STATE_TEXT[self.state]

    @property
    def figures(self) -> dict:
        if self.metaeval is None or self.state != State.READY:
            return {}
        return self.metaeval.figures or {}

    @property
    def headline(self) -> dict:
        return self.figures.get("headline") or {}

    @property
    def newer_run(self) -> ScoringRun | None:
        """A run started after the measured one and not finished (shown with its progress)."""
        if self.run is not None and self.run != self.finished:
            return self.run
        return None

    def value(self, figure: str) -> float | None:
        est = self.headline.get(figure) or {}
        if figure == "prefers_longer":
            humans = (self.headline.get("humans_prefer_longer") or {}).get("value")
            if est.get("value") is None or humans is None:
                return None
            return abs(est["value"] - humans)
        return est.get("value")


@dataclass(frozen=True)
class Leaderboard:
    aggregation_run: AggregationRun | None
    ceiling: NoiseCeiling | None
    rows: list[Row]
    sort: str  # the key as given: "accuracy" (best first) or "-accuracy" (worst first)

    @property
    def without_pairs(self) -> bool:
        """Scorers were measured, but the humans gave no pairs to compare with."""
        measured = [r for r in self.rows if r.headline]
        return bool(measured) and not any(r.headline.get("pairs") for r in measured)


def _state(
    run: ScoringRun | None,
    finished: ScoringRun | None,
    aggregation: AggregationRun | None,
    metaeval: MetaEvaluation | None,
) -> str:
    if finished is None:
        if run is None:
            return State.NO_RUN
        return {
            ScoringRun.Status.QUEUED: State.QUEUED,
            ScoringRun.Status.RUNNING: State.RUNNING,
        }.get(run.status, State.FAILED)
    if aggregation is None:
        return State.NO_AGGREGATION
    if metaeval is None:
        return State.PENDING
    if metaeval.status != MetaEvaluation.Status.DONE:
        return State.METAEVAL_FAILED
    return State.READY


def sort_key(sort: str | None) -> str:
    """A valid ``?sort=`` value, or the default (accuracy, best first)."""
    if sort and sort.lstrip("-") in SORTS:
        return sort
    return DEFAULT_SORT


def _scorers(project: Project, name: str | None = None) -> list[Scorer]:
    runs = ScoringRun.objects.filter(project=project, scorer=OuterRef("pk")).order_by("-id")
    scorers = Scorer.objects.filter(Q(project=project) | Q(project__isnull=True))
    if name is not None:
        scorers = scorers.filter(name=name)
    return list(
        scorers.annotate(
            latest_run_id=Subquery(runs.values("pk")[:1]),
            # As the meta-evaluation service picks it: over the whole project, not a release.
            finished_run_id=Subquery(
                runs.filter(status=ScoringRun.Status.DONE, release_version__isnull=True)
                .order_by(F("finished_at").desc(nulls_last=True), "-id")
                .values("pk")[:1]
            ),
        ).order_by("name")
    )


def leaderboard(
    project: Project, *, sort: str | None = None, name: str | None = None
) -> Leaderboard:
    """Every scorer the project may use (or the one called ``name``), sorted by ``sort``
    (a key of SORTS, best first; "-key" for worst first). Rows without the figure sort last,
    by name."""
    aggregation = run_latest(project)
    scorers = _scorers(project, name)
    run_ids = {s.latest_run_id for s in scorers} | {s.finished_run_id for s in scorers}
    runs = ScoringRun.objects.defer("chunks").in_bulk([i for i in run_ids if i is not None])
    metaevals: dict[int, MetaEvaluation] = {}
    if aggregation is not None:
        metaevals = {
            m.scoring_run_id: m
            for m in MetaEvaluation.objects.filter(
                aggregation_run=aggregation,
                scoring_run_id__in=[s.finished_run_id for s in scorers if s.finished_run_id],
            )
        }
    rows = []
    for scorer in scorers:
        run, finished = runs.get(scorer.latest_run_id), runs.get(scorer.finished_run_id)
        metaeval = metaevals.get(scorer.finished_run_id)
        rows.append(
            Row(scorer, run, finished, metaeval, _state(run, finished, aggregation, metaeval))
        )
    sort = sort_key(sort)
    figure, higher_is_better = SORTS[sort.lstrip("-")]
    best_first = not sort.startswith("-")
    descending = higher_is_better == best_first
    rows.sort(key=lambda r: r.scorer.name)
    defined = [r for r in rows if r.value(figure) is not None]
    defined.sort(key=lambda r: r.value(figure), reverse=descending)
    ceiling = None
    if aggregation is not None:
        ceiling = NoiseCeiling.objects.filter(aggregation_run=aggregation).first()
    return Leaderboard(
        aggregation_run=aggregation,
        ceiling=ceiling,
        rows=defined + [r for r in rows if r.value(figure) is None],
        sort=sort,
    )


def leaderboard_row(project: Project, name: str) -> tuple[Leaderboard, Row]:
    """One scorer's row (404 when the project may not use a scorer of that name)."""
    board = leaderboard(project, name=name)
    if not board.rows:
        raise Http404(f"No scorer '{name}' in this project.")
    return board, board.rows[0]
