"""Reads for the dispute queue (DESIGN 4.5): a page of disputes, and one dispute with its
texts and every rating side by side. Query counts do not grow with the number of disputes,
annotators or prompts."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import Count, Q

from .markdown import render_markdown
from .models import Dispute, LikertJudgment, PairwiseJudgment, Project

PER_PAGE = 20
PER_PANEL = 5  # on the lead page, which has other panels to show
Status = Dispute.Status
# The queue's filters: what each shows.
FILTERS = {
    "open": ("Open", [Status.OPEN]),
    "more": ("Waiting for more judgments", [Status.MORE]),
    "decided": ("Decided", [Status.ADJUDICATED, Status.DISMISSED]),
    "settled": ("No longer disputed", [Status.SETTLED]),
    "all": ("All", list(Status)),
}


def dispute_counts(*, project: Project) -> dict[str, int]:
    """Disputes per filter, in one query."""
    row = Dispute.objects.filter(project=project).aggregate(
        **{
            name: Count("id", filter=Q(status__in=statuses))
            for name, (_, statuses) in FILTERS.items()
        }
    )
    return {name: row[name] for name in FILTERS}


class _CountedPaginator(Paginator):
    """A paginator told its count (``dispute_counts`` has it): counting the rows again cost
    10 to 15 ms a request with 55,000 disputes (benchmarks/dashboard.py)."""

    def __init__(self, object_list, per_page: int, count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = count

    @property
    def count(self) -> int:
        return self._known_count


def dispute_page(
    *,
    project: Project,
    show: str,
    page: str | int | None,
    per_page: int = PER_PAGE,
    count: int | None = None,
) -> Page:
    """One page of the queue under the filter ``show`` (open first by default): oldest
    first for open work, most recently decided first otherwise. ``count``: how many
    disputes the filter holds, when the caller counted them (``dispute_counts``)."""
    statuses = FILTERS.get(show, FILTERS["open"])[1]
    order = ["id"] if show in ("open", "more") else ["-decided_at", "-last_flagged_at", "-id"]
    # The page's ids first, from the dispute table alone, then their rows with the joins.
    # One query joining first let PostgreSQL, with statistics from before a bulk of new
    # disputes (an aggregation run writes tens of thousands at once, and the next ANALYZE
    # comes later), join every dispute of the project and sort them for a page of five:
    # 100 ms to 1 s with 18,000 to 55,000 disputes (benchmarks/dashboard.py).
    ids = (
        Dispute.objects.filter(project=project, status__in=statuses)
        .order_by(*order)
        .values_list("id", flat=True)
    )
    if count is None:
        found = Paginator(ids, per_page).get_page(page)
    else:
        found = _CountedPaginator(ids, per_page, count).get_page(page)
    rows = Dispute.objects.select_related(
        "prompt", "response_a", "response_b", "decided_by", "adjudication"
    ).defer("prompt__text", "response_a__text", "response_b__text")  # texts: the dispute's page
    by_id = {d.pk: d for d in rows.filter(pk__in=list(found.object_list))}
    found.object_list = [by_id[i] for i in found.object_list if i in by_id]
    return found


@dataclass
class Side:
    label: str  # "a" or "b"
    external_id: str
    model: str
    text_html: str


def dispute_detail(*, dispute: Dispute, adjudicated: dict | None = None) -> dict:
    """The item with its texts, and every rating (Likert: criteria as rows, annotators as
    columns) or vote (pairwise: each annotator's choice in canonical a/b terms, and the side
    they saw a on), beside the lead's ``adjudicated`` ratings if any. Three queries."""
    project = dispute.project
    criteria = list(project.criteria.order_by("position", "id"))
    responses = [dispute.response_a] + ([dispute.response_b] if dispute.response_b_id else [])
    sides = [
        Side(
            label="ab"[i] if dispute.kind == Dispute.Kind.PAIRWISE else "",
            external_id=r.external_id,
            model=r.model_name,
            text_html=render_markdown(r.text),
        )
        for i, r in enumerate(responses)
    ]
    out: dict = {
        "prompt_html": render_markdown(dispute.prompt.text),
        "sides": sides,
        "criteria": criteria,
    }
    if dispute.kind == Dispute.Kind.LIKERT:
        rows = list(
            LikertJudgment.objects.filter(response_id=dispute.response_a_id)
            .order_by("annotator_id")
            .values_list("annotator__user__username", "annotator__external_id", "ratings", "gold")
        )
        spans = dispute.reason.get("spans", {})
        out["annotators"] = [user or external for user, external, _, _ in rows]
        out["table"] = [
            {
                "criterion": c,
                "disputed": c.key in spans,
                "span": spans.get(c.key),
                "values": [r.get(c.key) for _, _, r, _ in rows],
                "adjudicated": (adjudicated or {}).get(c.key),
            }
            for c in criteria
        ]
    else:
        votes = []
        for user, external, left, choice in (
            PairwiseJudgment.objects.filter(
                response_a_id=dispute.response_a_id, response_b_id=dispute.response_b_id
            )
            .order_by("annotator_id")
            .values_list("annotator__user__username", "annotator__external_id", "left_id", "choice")
        ):
            if choice == PairwiseJudgment.Choice.TIE:
                said = "tie"
            else:
                said = "a" if (left == dispute.response_a_id) == (choice == "left") else "b"
            votes.append(
                {
                    "annotator": user or external,
                    "said": said,
                    "a_on": "left" if left == dispute.response_a_id else "right",
                }
            )
        out["votes"] = votes
        out["tally"] = {k: sum(v["said"] == k for v in votes) for k in ("a", "b", "tie")}
    return out
