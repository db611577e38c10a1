"""aggregation_run_create: scores, exclusions, ranking, agreement, idempotency."""

from __future__ import annotations

import numpy as np
import pytest

from annotation.services.projects import project_create
from scoring.models import AggregationRun, ResponseScore
from scoring.selectors import run_latest
from scoring.services import aggregation_run_create

from .factories import prompt_with_responses, rate, raters, vote

pytestmark = pytest.mark.django_db

ONE_CRITERION = [
    {"key": "quality", "label": "Quality", "weight": 1.0, "scale_min": 1, "scale_max": 5}
]


@pytest.fixture
def small(db):
    return project_create(
        slug="small",
        name="Small",
        domains=[{"name": "general"}],
        criteria=ONE_CRITERION,
        likert_quorum=2,
        pairwise_quorum=1,
        blend_alpha=0.6,
    )


def test_the_design_worked_example_through_the_database(small):
    # Criterion scores 1.0, 0.5, 0.75 (ratings 5/5, 3/3, 4/4) and A > B > C pairwise.
    _, (a, b, c) = prompt_with_responses(small, 3)
    r1, r2 = raters(small, 2)
    for resp, v in ((a, 5), (b, 3), (c, 4)):
        rate(resp, r1, quality=v)
        rate(resp, r2, quality=v)
    vote(a, b, r1)
    vote(a, c, r1)
    vote(b, c, r1)
    run = aggregation_run_create(project=small, trigger="command")
    got = {s.response_id: s for s in ResponseScore.objects.filter(run=run)}
    assert [got[x.pk].borda for x in (a, b, c)] == [1.0, 0.5, 0.0]
    assert [round(got[x.pk].final, 3) for x in (a, b, c)] == [1.0, 0.5, 0.45]
    assert [got[x.pk].rank for x in (a, b, c)] == [1, 2, 3]
    assert {got[x.pk].final_source for x in (a, b, c)} == {"blend"}
    assert got[a.pk].criterion_means == {"quality": 1.0} and got[a.pk].pairwise_wins == 2


def test_quorum_exclusions_are_counted_reported_and_flagged(small):
    _, (full, partial, unrated) = prompt_with_responses(small, 3)
    r1, r2 = raters(small, 2)
    rate(full, r1, quality=4)
    rate(full, r2, quality=5)
    rate(partial, r1, quality=2)
    run = aggregation_run_create(project=small, trigger="command")
    assert run.status == AggregationRun.Status.DONE
    below = next(e for e in run.exclusions if e["reason"] == "below_likert_quorum")
    assert below["count"] == 1 and below["sample_ids"] == [partial.pk]
    assert run.counts["responses_likert_quorum"] == 1 and run.counts["responses_judged"] == 2
    scores = {s.response_id: s for s in ResponseScore.objects.filter(run=run)}
    assert unrated.pk not in scores  # no judgment, no row
    assert scores[partial.pk].final is None and scores[partial.pk].criterion_score is None
    assert (
        scores[partial.pk].flags == ["below_likert_quorum"]
        and scores[partial.pk].criterion_means == {}
    )
    assert (
        scores[full.pk].final == pytest.approx(0.875)
        and scores[full.pk].final_source == "criteria_only"
    )


def test_pairs_below_the_pairwise_quorum_stay_out_of_borda(small):
    small.pairwise_quorum = 2
    small.save()
    _, (a, b) = prompt_with_responses(small, 2)
    (r1,) = raters(small, 1)
    vote(a, b, r1)
    run = aggregation_run_create(project=small, trigger="command")
    assert next(e for e in run.exclusions if e["reason"] == "below_pairwise_quorum")["count"] == 1
    scores = {s.response_id: s for s in ResponseScore.objects.filter(run=run)}
    assert (
        scores[a.pk].borda is None
        and scores[a.pk].n_pairwise == 1
        and scores[a.pk].pairwise_wins == 1
    )


def test_ties_within_tolerance_are_broken_by_wins_and_the_rule_is_recorded(small):
    _, (a, b, c) = prompt_with_responses(small, 3)
    r1, r2, r3 = raters(small, 3)
    for resp in (a, b):  # equal criterion scores, no pairwise data between them in Borda
        rate(resp, r1, quality=4)
        rate(resp, r2, quality=4)
    small.pairwise_quorum = 5
    small.save()
    vote(b, c, r3)  # b has a win outside Borda (below quorum)
    run = aggregation_run_create(project=small, trigger="command")
    scores = {s.response_id: s for s in ResponseScore.objects.filter(run=run)}
    assert scores[b.pk].rank == 1 and scores[a.pk].rank == 2
    assert run.tie_rule["decided_by"]["pairwise_wins"] == 1
    assert run.tie_rule["most_weighted_criterion"] == "quality"
    assert run.tie_rule["tolerance"] == small.tie_tolerance


def test_a_rerun_on_the_same_data_gives_an_identical_run(small):
    for _ in range(30):
        _, (a, b) = prompt_with_responses(small, 2)
        r = raters(small, 3)
        for i, ann in enumerate(r):
            rate(a, ann, quality=1 + (i + a.pk) % 5)
            rate(b, ann, quality=1 + (2 * i + b.pk) % 5)
            vote(a, b, ann, tie=i == 2)
    first = aggregation_run_create(project=small, trigger="command")
    second = aggregation_run_create(project=small, trigger="api")
    assert first.pk != second.pk
    for field in (
        "config",
        "counts",
        "exclusions",
        "agreement",
        "disputes",
        "tie_rule",
        "input_fingerprint",
        "code_version",
    ):
        assert getattr(first, field) == getattr(second, field), field

    def rows(run):
        return list(
            ResponseScore.objects.filter(run=run)
            .order_by("response_id")
            .values_list(
                "response_id",
                "criterion_means",
                "criterion_score",
                "borda",
                "final",
                "final_source",
                "rank",
                "flags",
            )
        )

    assert rows(first) == rows(second)
    assert first.agreement["criteria"]["quality"]["alpha"]["ordinal"]["ci_low"] is not None
    assert run_latest(small) == second
    # The task's path reuses an identical run instead of computing a third.
    assert aggregation_run_create(project=small, trigger="auto", reuse_identical=True) == second


def test_no_judgments_gives_a_done_run_with_undefined_agreement(small):
    prompt_with_responses(small, 2)
    run = aggregation_run_create(project=small, trigger="command")
    assert run.status == "done" and run.counts["responses_scored"] == 0
    assert run.agreement["criteria"] == {} and run.agreement["pairwise"] == {}


def test_one_category_only_is_reported_as_undefined_with_a_reason(small):
    _, responses = prompt_with_responses(small, 4)
    r1, r2 = raters(small, 2)
    for resp in responses:
        rate(resp, r1, quality=3)
        rate(resp, r2, quality=3)
    run = aggregation_run_create(project=small, trigger="command")
    est = run.agreement["criteria"]["quality"]["alpha"]["ordinal"]
    assert est["value"] is None and est["reason"].startswith("one category only")


def test_disputes_and_annotator_consensus_are_in_the_run(small):
    _, (a, b) = prompt_with_responses(small, 2)
    r1, r2, r3 = raters(small, 3)
    rate(a, r1, quality=1)
    rate(a, r2, quality=4)
    vote(a, b, r1)
    vote(b, a, r2)
    vote(a, b, r3, tie=True)
    run = aggregation_run_create(project=small, trigger="command")
    kinds = sorted(d["kind"] for d in run.disputes)
    assert kinds == ["likert", "pairwise"]
    likert = next(d for d in run.disputes if d["kind"] == "likert")
    assert likert["response_id"] == a.pk and likert["spans"] == {"quality": 3}
    pairwise = next(d for d in run.disputes if d["kind"] == "pairwise")
    assert pairwise["votes"] == {"a": 1, "b": 1, "tie": 1}
    assert {r["annotator_id"] for r in run.agreement["annotators"]} == {r1.pk, r2.pk, r3.pk}
    assert "disputed_likert" in ResponseScore.objects.get(run=run, response=a).flags


def test_a_pairwise_only_response_gets_borda_as_its_final_score(small):
    # DESIGN 5: with pairwise data but no Likert quorum, final = borda, and the row says so.
    _, (a, b, c) = prompt_with_responses(small, 3)
    r1, r2 = raters(small, 2)
    vote(a, b, r1)
    vote(a, c, r1)
    vote(c, b, r1)
    rate(a, r1, quality=5)  # below likert_quorum=2: no criterion score
    run = aggregation_run_create(project=small, trigger="command")
    got = {s.response_id: s for s in ResponseScore.objects.filter(run=run)}
    assert [got[x.pk].final for x in (a, c, b)] == [1.0, 0.5, 0.0]
    assert all(got[x.pk].final == got[x.pk].borda for x in (a, b, c))
    assert {got[x.pk].final_source for x in (a, b, c)} == {"borda_only"}
    assert [got[x.pk].rank for x in (a, c, b)] == [1, 2, 3]
    assert run.counts["responses_scored"] == run.counts["responses_borda_only"] == 3


def test_the_run_records_exactly_the_judgments_it_read(small):
    _, (a, b) = prompt_with_responses(small, 2)
    r1, r2 = raters(small, 2)
    likert = [rate(a, r1, quality=4), rate(b, r2, quality=2)]
    pairwise = [vote(a, b, r1), vote(b, a, r2)]
    run = aggregation_run_create(project=small, trigger="command")
    run.refresh_from_db()
    likert_ids, pairwise_ids = run.judgment_ids()
    assert likert_ids.tolist() == sorted(j.pk for j in likert)
    assert pairwise_ids.tolist() == sorted(j.pk for j in pairwise)
    assert run.config["judgment_cutoff"] == {
        "likert_max_id": max(j.pk for j in likert),
        "pairwise_max_id": max(j.pk for j in pairwise),
    }


def test_judgment_ids_survive_packing_with_gaps_and_when_empty():
    from scoring.models import ids_pack, ids_unpack

    ids = np.array([3, 1, 2, 10, 1_000_000_007, 11], dtype=np.int64)
    assert ids_unpack(ids_pack(ids)).tolist() == [1, 2, 3, 10, 11, 1_000_000_007]
    assert ids_unpack(ids_pack(np.zeros(0, dtype=np.int64))).tolist() == []
