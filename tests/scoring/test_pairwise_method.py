"""The project's pairwise_method: Borda (default) or Bradley-Terry as the blend's pairwise
score, in the core aggregation, through a real run, and in project_apply."""

from __future__ import annotations

import numpy as np
import pytest

from annotation.errors import ValidationProblems
from annotation.models import Project
from annotation.services.projects import project_apply, project_create
from scoring.core import aggregate as agg
from scoring.models import ResponseScore
from scoring.services import aggregation_run_create

from .factories import prompt_with_responses, raters, vote

# Four responses of one prompt, compared in a ring, 3 votes a pair (winner first):
# 1 beats 0 3-0, 1 beats 2 3-0, 3 beats 2 3-0, 0 beats 3 2-1.
# Borda (mean head-to-head share): 1: 1.0, 3: 0.67, 0: 0.33, 2: 0.0, so 3 above 0.
# Bradley-Terry also weighs whom each beat: 0 lost only to the best and beat 3 head to
# head, 3 beat only the worst, so 0 above 3.
RING = [(1, 0, 3, 0), (1, 2, 3, 0), (3, 2, 3, 0), (0, 3, 2, 1)]
BORDA_ORDER = [1, 3, 0, 2]
BT_ORDER = [1, 0, 3, 2]


def _input(method: str, games=RING) -> agg.AggregationInput:
    """Pairwise-only input for one prompt of four responses; ``games`` as in RING."""
    a, b, outcome, annotator = [], [], [], []
    for winner, loser, wins, losses in games:
        lo, hi = min(winner, loser), max(winner, loser)
        for k in range(wins + losses):
            a.append(lo)
            b.append(hi)
            won = winner if k < wins else loser
            outcome.append(agg.A_WINS if won == lo else agg.B_WINS)
            annotator.append(k)
    empty = np.zeros(0, dtype=np.int64)
    return agg.AggregationInput(
        criteria=[agg.CriterionSpec("quality", 1, 5, "ordinal", 1.0)],
        response_ids=np.arange(4),
        response_prompts=np.zeros(4, dtype=np.int64),
        response_domains=np.zeros(4, dtype=np.int64),
        domain_names={0: "general"},
        likert_responses=empty,
        likert_annotators=empty,
        likert_values=np.zeros((0, 1)),
        pair_a=np.array(a),
        pair_b=np.array(b),
        pair_annotators=np.array(annotator),
        pair_outcomes=np.array(outcome),
        pairwise_quorum=3,
        pairwise_method=method,
        n_resamples=0,
    )


def _order(rank: np.ndarray) -> list[int]:
    return [int(i) for i in np.argsort(rank)]


def test_bradley_terry_finals_follow_the_fitted_order_where_borda_differs():
    borda = agg.aggregate(_input("borda"))
    bt = agg.aggregate(_input("bradley_terry"))
    assert _order(borda.rank) == BORDA_ORDER
    assert _order(bt.rank) == BT_ORDER
    # Pairwise only: the final is the pairwise score; Borda itself is still reported.
    np.testing.assert_allclose(bt.borda, borda.final)
    assert set(bt.final_source) == {"borda_only"}
    assert bt.counts["prompts_bradley_terry"] == 1
    assert "prompts_bradley_terry" not in borda.counts


def test_an_unknown_pairwise_method_is_refused():
    with pytest.raises(ValueError, match="unknown pairwise_method 'elo'"):
        agg.aggregate(_input("elo"))


def test_a_prompt_with_disconnected_pairs_is_excluded_from_bradley_terry_and_counted():
    # 1-2 and 0-3 never meet: Borda scores each response, Bradley-Terry cannot compare.
    result = agg.aggregate(_input("bradley_terry", games=[(1, 2, 3, 0), (0, 3, 2, 1)]))
    assert np.isnan(result.final).all() and not np.isnan(result.borda).any()
    excluded = next(e for e in result.exclusions if e["reason"] == "bradley_terry_undefined")
    assert excluded["count"] == 4
    assert result.counts["prompts_bradley_terry_undefined"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("method", "order"), [("borda", BORDA_ORDER), ("bradley_terry", BT_ORDER)])
def test_a_run_ranks_by_the_projects_pairwise_method_and_records_it(method, order):
    project = project_create(
        slug=f"ring-{method}".replace("_", "-"),
        name="Ring",
        domains=[{"name": "general"}],
        pairwise_quorum=3,
        pairwise_method=method,
    )
    _, responses = prompt_with_responses(project, 4)
    people = raters(project, 3)
    for winner, loser, wins, losses in RING:
        for k, person in enumerate(people[: wins + losses]):
            if k < wins:
                vote(responses[winner], responses[loser], person)
            else:
                vote(responses[loser], responses[winner], person)
    run = aggregation_run_create(project=project, trigger="command", n_resamples=0)
    assert run.config["pairwise_method"] == method
    rank = {s.response_id: s.rank for s in ResponseScore.objects.filter(run=run)}
    assert sorted(range(4), key=lambda i: rank[responses[i].pk]) == order


@pytest.mark.django_db
def test_project_apply_names_the_field_of_an_unknown_pairwise_method():
    with pytest.raises(ValidationProblems) as exc:
        project_apply(definition={"slug": "z", "name": "Z", "pairwise_method": "elo"})
    assert "field 'pairwise_method'" in str(exc.value)
    assert "'elo' is not a valid choice" in str(exc.value)
    assert not Project.objects.filter(slug="z").exists()


@pytest.mark.django_db
def test_project_apply_sets_bradley_terry_and_borda_is_the_default():
    project, _ = project_apply(definition={"slug": "bt", "name": "BT"})
    assert project.pairwise_method == "borda"
    project, _ = project_apply(
        definition={"slug": "bt", "name": "BT", "pairwise_method": "bradley_terry"}
    )
    assert Project.objects.get(pk=project.pk).pairwise_method == "bradley_terry"
