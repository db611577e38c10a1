"""Excluding an annotator's judgments from aggregation (DESIGN 4.5): the next run changes,
the run's config records who was left out and how many judgments, nothing is deleted, and
including them again gives the original numbers exactly. Gold never reaches a run."""

import pytest

from annotation.models import Annotator, LikertJudgment, Membership, PairwiseJudgment
from annotation.services.quality import annotator_exclude, annotator_include, gold_mark
from scoring.models import ResponseScore
from scoring.selectors import projects_with_unaggregated_judgments
from scoring.services import aggregation_run_create
from tests.exports.factories import scored_project

pytestmark = pytest.mark.django_db


def _scores(run) -> dict:
    return {
        rid: (final, n_likert, n_pairwise)
        for rid, final, n_likert, n_pairwise in ResponseScore.objects.filter(run=run).values_list(
            "response_id", "final", "n_likert", "n_pairwise"
        )
    }


def _run(project):
    return aggregation_run_create(project=project, trigger="command", n_resamples=0)


@pytest.fixture
def scored(project):
    project.likert_quorum = 4
    project.save(update_fields=["likert_quorum"])
    return scored_project(project, n_prompts=6, annotators=5, cluster_every=0, with_run=False)


def test_excluding_an_annotator_changes_the_next_run_and_is_recorded(project, scored):
    before = _run(project)
    rater = Annotator.objects.get(project=project, external_id="rater-0")
    n_likert = LikertJudgment.objects.filter(annotator=rater).count()
    n_pairwise = PairwiseJudgment.objects.filter(annotator=rater).count()
    annotator_exclude(project=project, annotator=rater, reason="straight-lines")
    after = _run(project)
    assert after.config["excluded_annotators"] == [
        {
            "annotator_id": rater.pk,
            "annotator": "rater-0",
            "likert": n_likert,
            "pairwise": n_pairwise,
        }
    ]
    assert after.counts["excluded_judgments_left_out"] == n_likert + n_pairwise
    assert after.counts["likert_judgments"] == before.counts["likert_judgments"] - n_likert
    assert after.counts["pairwise_judgments"] == before.counts["pairwise_judgments"] - n_pairwise
    assert after.counts["annotators"] == before.counts["annotators"] - 1
    assert _scores(after) != _scores(before)
    # Nothing deleted, and the left-out judgments are not taken for unread work.
    assert LikertJudgment.objects.filter(annotator=rater).count() == n_likert
    assert before.config["excluded_annotators"] == []


def test_including_the_annotator_again_restores_the_original_numbers_exactly(project, scored):
    before = _run(project)
    rater = Annotator.objects.get(project=project, external_id="rater-1")
    annotator_exclude(project=project, annotator=rater)
    _run(project)
    assert annotator_include(project=project, annotator=rater)
    again = _run(project)
    assert _scores(again) == _scores(before)
    assert again.counts == before.counts
    assert again.agreement == before.agreement
    assert again.input_fingerprint == before.input_fingerprint


def test_a_gold_prompt_and_every_judgment_on_it_stay_out_of_the_run(project, scored):
    before = _run(project)
    gold_prompt = scored.prompts[0]
    response = gold_prompt.responses.order_by("id").first()
    keys = list(project.criteria.values_list("key", flat=True))
    gold_mark(
        project=project,
        response=response,
        expected_ratings=dict.fromkeys(keys, 3),
        explanation="Average.",
    )
    on_gold = LikertJudgment.objects.filter(response__prompt=gold_prompt).count()
    on_gold += PairwiseJudgment.objects.filter(prompt=gold_prompt).count()
    after = _run(project)
    gold_ids = set(gold_prompt.responses.values_list("id", flat=True))
    assert gold_ids & set(_scores(before)) == gold_ids
    assert not gold_ids & set(_scores(after))
    assert after.counts["gold_judgments_left_out"] == on_gold
    assert after.counts["responses"] == before.counts["responses"] - len(gold_ids)
    # Runs and the catch-up job agree that nothing is left unread.
    assert project.pk not in projects_with_unaggregated_judgments(last_run_before=after.created_at)


def test_a_lead_excludes_and_includes_through_the_lead_page_only_in_their_project(
    client, project, scored, lead_user, annotator_user
):
    from annotation.services.projects import project_create

    rater = Annotator.objects.get(project=project, external_id="rater-2")
    other = project_create(slug="other", name="Other", domains=[{"name": "general"}])
    other_lead = lead_user.__class__.objects.create_user(username="other-lead")
    Membership.objects.create(user=other_lead, project=other, role="lead")
    url = f"/p/{project.slug}/lead/annotators/{rater.pk}"
    client.force_login(other_lead)
    assert client.post(f"{url}/exclude/").status_code == 404
    assert client.post(f"/p/{other.slug}/lead/annotators/{rater.pk}/exclude/").status_code == 404
    client.force_login(annotator_user)
    assert client.post(f"{url}/exclude/").status_code == 403
    assert not project.annotator_exclusions.exists()
    client.force_login(lead_user)
    assert client.post(f"{url}/exclude/", {"reason": "left-biased"}).status_code == 302
    exclusion = project.annotator_exclusions.get()
    assert (exclusion.annotator, exclusion.reason, exclusion.created_by) == (
        rater,
        "left-biased",
        lead_user,
    )
    assert client.post(f"{url}/include/").status_code == 302
    assert not project.annotator_exclusions.exists()


def test_a_non_staff_lead_excludes_in_the_admin_and_deleting_the_row_includes_again(
    client, project, scored, lead_user
):
    rater = Annotator.objects.get(project=project, external_id="rater-3")
    client.force_login(lead_user)
    page = client.post(
        "/admin/annotation/annotatorexclusion/add/",
        {"project": project.pk, "annotator": rater.pk, "reason": "careless"},
    )
    assert page.status_code == 302, page.content.decode()[:3000]
    exclusion = project.annotator_exclusions.get()
    assert exclusion.created_by == lead_user
    page = client.post(
        f"/admin/annotation/annotatorexclusion/{exclusion.pk}/delete/", {"post": "yes"}
    )
    assert page.status_code == 302
    assert not project.annotator_exclusions.exists()
