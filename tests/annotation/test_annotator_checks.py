"""The annotator checks (DESIGN 4.5): per annotator judgments, speed, gold accuracy, agreement
with the leave-one-out consensus, straight-lining, left-pick share with its binomial test,
skip and flag rates, and the project's thresholds shown as warnings on the lead's panel."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from scipy.stats import binomtest

from annotation.errors import ValidationProblems
from annotation.models import LikertJudgment, PairwiseJudgment
from annotation.quality_selectors import annotator_checks, left_picks
from annotation.services.assignments import assignment_claim_next, assignment_skip
from annotation.services.dashboard import dashboard_refresh
from annotation.services.projects import project_apply
from annotation.services.quality import annotator_pause, gold_mark
from scoring.services import aggregation_run_create

from ..scoring.factories import prompt_with_responses, raters
from .builders import add_items, make_annotator, make_project

pytestmark = pytest.mark.django_db

# Session, user, project with role, then the panel's reads; the same for 5 or 25 annotators.
MAX_QUERIES = 14
CAREFUL = [(5, 4, 5, 3), (2, 3, 1, 2), (4, 4, 3, 5), (1, 2, 2, 1), (3, 5, 4, 4)]


def likert(response, annotator, points, **fields) -> LikertJudgment:
    keys = ("usefulness", "factuality", "safety", "alignment")
    return LikertJudgment.objects.create(
        response=response,
        annotator=annotator,
        ratings=dict(zip(keys, points, strict=True)),
        **fields,
    )


def pick(left, right, annotator, choice: str, **fields) -> PairwiseJudgment:
    a, b = sorted([left, right], key=lambda r: r.pk)
    return PairwiseJudgment.objects.create(
        prompt=left.prompt,
        left=left,
        right=right,
        response_a=a,
        response_b=b,
        annotator=annotator,
        choice=choice,
        **fields,
    )


@pytest.fixture
def campaign():
    """Three raters on 30 prompts of two responses: a careful one (varied ratings, left and
    right picked in turn), a straight-liner (every criterion 3) who picks sides fairly, and
    a left-biased one (careful ratings, always the left response)."""
    project = make_project(slug="qc", likert_quorum=3, pairwise_quorum=3)
    careful, straight, lefty = raters(project, 3)
    for i in range(30):
        _, (r1, r2) = prompt_with_responses(project, 2)
        points = CAREFUL[i % len(CAREFUL)]
        likert(r1, careful, points, duration_ms=20_000 + 100 * i)
        likert(r1, straight, (3, 3, 3, 3), duration_ms=3_000)
        likert(r1, lefty, points, duration_ms=15_000, flags=["unsafe"] if i < 3 else [])
        first, second = (r1, r2) if i % 2 else (r2, r1)
        pick(first, second, careful, "left" if i % 3 else "right")
        pick(second, first, straight, "right" if i % 2 else "left")
        pick(first, second, lefty, "left")
    return project, {"careful": careful, "straight": straight, "lefty": lefty}


def rows_by_name(project, **kwargs):
    return {r.name: r for r in annotator_checks(project=project, **kwargs).rows}


def test_a_straight_liner_and_a_left_biased_annotator_are_flagged_and_a_careful_one_is_not(
    campaign,
):
    project, people = campaign
    rows = rows_by_name(project)
    careful, straight, lefty = (rows[str(people[k])] for k in ("careful", "straight", "lefty"))
    assert careful.warnings == ()
    assert [w.check for w in straight.warnings] == ["straight-lining"]
    assert "100%" in straight.warnings[0].reason
    assert [w.check for w in lefty.warnings] == ["left bias"]
    assert "100% of 30 choices" in lefty.warnings[0].reason
    assert straight.straight_lining.k == 30 and careful.straight_lining.k == 0
    assert (lefty.left.share.k, lefty.left.share.n) == (30, 30)
    assert careful.n_likert == 30 and careful.n_pairwise == 30
    assert careful.median_seconds_likert == pytest.approx(21.45)  # median of 20.0 ... 22.9
    assert straight.median_seconds_likert == 3.0
    assert (lefty.flags.k, lefty.flags.n) == (3, 60)


def test_the_project_share_of_straight_lining_is_over_every_likert_judgment(campaign):
    project, _ = campaign
    total = annotator_checks(project=project).project_straight_lining
    assert (total.k, total.n) == (30, 90)


def test_the_left_pick_p_value_is_scipys_two_sided_binomial_test(campaign):
    project, people = campaign
    row = rows_by_name(project)[str(people["careful"])]
    left, n = row.left.share.k, row.left.share.n
    assert n == 30 and left == 20  # left unless i is a multiple of 3
    expected = binomtest(left, n, 0.5, alternative="two-sided")
    assert row.left.p_value == pytest.approx(expected.pvalue, rel=1e-12)
    ci = expected.proportion_ci(confidence_level=0.95, method="exact")
    assert row.left.ci_low == pytest.approx(ci.low, abs=1e-9)
    assert row.left.ci_high == pytest.approx(ci.high, abs=1e-9)


def test_the_closed_form_test_and_interval_match_scipys_binomtest_for_every_k_up_to_60():
    cases = [(k, n) for n in range(1, 61) for k in range(n + 1)]
    got = left_picks([k for k, _ in cases], [n - k for k, n in cases])
    for (k, n), row in zip(cases, got, strict=True):
        expected = binomtest(k, n, 0.5, alternative="two-sided")
        ci = expected.proportion_ci(confidence_level=0.95, method="exact")
        assert row.p_value == pytest.approx(expected.pvalue, rel=1e-9), (k, n)
        assert row.ci_low == pytest.approx(ci.low, abs=1e-9), (k, n)
        assert row.ci_high == pytest.approx(ci.high, abs=1e-9), (k, n)
    assert left_picks([0], [0])[0].p_value is None  # no choice: undefined, not p = 1


def test_ties_are_left_out_of_the_left_pick_share():
    project = make_project(slug="ties")
    (rater,) = raters(project, 1)
    for choice in ("left", "tie", "tie", "right"):
        _, (r1, r2) = prompt_with_responses(project, 2)
        pick(r1, r2, rater, choice)
    row = annotator_checks(project=project).rows[0]
    assert (row.left.share.k, row.left.share.n) == (1, 2) and row.left.p_value == 1.0


def test_the_thresholds_are_the_projects(campaign):
    project, people = campaign
    project.check_max_straight_lining = 1.0
    project.check_left_pick_p = 1e-12  # the left-biased annotator's p is about 1.9e-9
    project.save()
    rows = rows_by_name(project)
    assert all(rows[str(p)].warnings == () for p in people.values())
    project.check_left_pick_p = 0.05
    project.check_max_straight_lining = 0.5
    project.save()
    rows = rows_by_name(project)
    assert [w.check for w in rows[str(people["careful"])].warnings] == []  # p = 0.099
    project.check_left_pick_p = 0.1
    project.save()
    assert [w.check for w in rows_by_name(project)[str(people["careful"])].warnings] == [
        "left bias"
    ]


def test_a_share_resting_on_too_few_answers_is_not_judged():
    project = make_project(slug="few")
    (rater,) = raters(project, 1)
    for _ in range(4):
        _, (r1,) = prompt_with_responses(project, 1)
        likert(r1, rater, (2, 2, 2, 2))
    assert annotator_checks(project=project).rows[0].warnings == ()
    project.check_min_n = 4
    project.save()
    (warning,) = annotator_checks(project=project).rows[0].warnings
    assert warning.check == "straight-lining"


def test_low_gold_accuracy_is_flagged_with_the_count():
    project = make_project(slug="gold", check_min_n=3)
    (rater,) = raters(project, 1)
    for i in range(4):
        _, (r1,) = prompt_with_responses(project, 1)
        gold_mark(
            project=project,
            response=r1,
            expected_ratings=dict.fromkeys(("usefulness", "factuality", "safety", "alignment"), 5),
            explanation="Exemplary.",
        )
        likert(r1, rater, (5, 5, 5, 5) if i == 0 else (1, 2, 1, 2), gold=True)
    row = annotator_checks(project=project).rows[0]
    assert row.n_likert == 0  # gold answers count only as gold
    (warning,) = row.warnings
    assert warning.check == "gold" and "25% (1 of 4)" in warning.reason


def test_agreement_comes_from_the_latest_run_and_a_contrarian_is_flagged():
    """Three raters agree; a fourth rates every criterion the other way round (6 - v):
    against the others' mean their r is -1."""
    project = make_project(slug="agree", likert_quorum=3)
    a, b, c, contrarian = raters(project, 4)
    for i in range(10):
        _, (r1,) = prompt_with_responses(project, 1)
        points = CAREFUL[i % len(CAREFUL)]
        for rater in (a, b, c):
            likert(r1, rater, points)
        likert(r1, contrarian, tuple(6 - v for v in points))
    assert annotator_checks(project=project).has_run is False
    run = aggregation_run_create(project=project, trigger="command", n_resamples=20)
    loo = {r["annotator_id"]: r for r in run.agreement["annotators"]}
    rows = rows_by_name(project, agreement=run.agreement["annotators"])
    assert rows[str(a)].in_run and rows[str(a)].agreement_r == loo[a.pk]["likert_r_mean"]
    assert rows[str(contrarian)].agreement_r == pytest.approx(-1.0)
    assert rows[str(a)].warnings == ()
    (warning,) = rows[str(contrarian)].warnings
    assert warning.check == "agreement" and "r = -1.00 is below 0.30" in warning.reason


def test_skips_recorded_on_leases_give_the_skip_rate():
    project = make_project(slug="skips", likert_quorum=1, check_min_n=2)
    add_items(project, prompts=4)
    _, annotator = make_annotator(project, "skipper")
    for _ in range(3):
        lease = assignment_claim_next(project=project, annotator=annotator)
        assignment_skip(
            project=project, annotator=annotator, assignment_id=lease.pk, reason="unreadable"
        )
    row = annotator_checks(project=project).rows[0]
    assert (row.skips.k, row.skips.n) == (3, 3)
    (warning,) = row.warnings
    assert warning.check == "skips" and "100%" in warning.reason


# The panel -------------------------------------------------------------------------------


def panel_url(project) -> str:
    return f"/scoring/p/{project.slug}/annotators/"


def test_the_lead_sees_badges_with_reasons_and_the_two_charts(client, campaign):
    project, people = campaign
    lead, _ = make_annotator(project, "lead", role="lead")
    aggregation_run_create(project=project, trigger="command", n_resamples=20)
    client.force_login(lead)
    html = client.get(panel_url(project), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in html  # the fragment only
    row = html.split(f'data-annotator="{people["lefty"].pk}"')[1].split("</tr>")[0]
    assert 'data-check="left bias"' in row and "picks the left response in 100%" in row
    row = html.split(f'data-annotator="{people["careful"].pk}"')[1].split("</tr>")[0]
    assert "data-check" not in row
    assert f"p = {binomtest(20, 30).pvalue:.2g}" in row
    assert 'data-chart="speed"' in html and 'data-chart="left-picks"' in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 2
    assert "data-flagged>2 with warnings<" in html
    full = client.get(panel_url(project)).content.decode()
    assert "<html" in full and f'data-annotator="{people["careful"].pk}"' in full


def test_members_get_pause_and_exclude_buttons_and_imported_raters_only_exclude(client):
    project = make_project(slug="btn")
    lead, _ = make_annotator(project, "lead", role="lead")
    _, member = make_annotator(project, "member")
    (rater,) = raters(project, 1)
    annotator_pause(project=project, annotator=member)
    client.force_login(lead)
    html = client.get(panel_url(project)).content.decode()
    row = html.split(f'data-annotator="{member.pk}"')[1].split("</tr>")[0]
    assert ">paused<" in row and f"/lead/annotators/{member.pk}/resume/" in row
    assert f"/lead/annotators/{member.pk}/exclude/" in row
    row = html.split(f'data-annotator="{rater.pk}"')[1].split("</tr>")[0]
    assert "/pause/" not in row and f"/lead/annotators/{rater.pk}/exclude/" in row


def test_the_table_paginates_twenty_annotators_a_page(client):
    project = make_project(slug="many")
    lead, lead_annotator = make_annotator(project, "lead", role="lead")  # leads annotate too
    people = raters(project, 24)
    _, (r1,) = prompt_with_responses(project, 1)
    for p in people:
        likert(r1, p, (1, 2, 3, 4))
    client.force_login(lead)
    first = client.get(panel_url(project) + "?sort=name").content.decode()
    second = client.get(panel_url(project) + "?sort=name&page=2").content.decode()
    assert first.count("<tr data-annotator=") == 20 and second.count("<tr data-annotator=") == 5
    assert "Page 1 of 2 (25 annotators)" in first and 'rel="next"' in first
    assert 'rel="prev"' in second and 'rel="next"' not in second
    shown = {
        line.split('data-annotator="')[1].split('"')[0]
        for html in (first, second)
        for line in html.split("<tr ")[1:]
        if line.startswith("data-annotator")
    }
    assert shown == {str(p.pk) for p in [*people, lead_annotator]}


def test_a_bad_sort_or_page_falls_back_instead_of_failing(client, campaign):
    project, _ = campaign
    lead, _ = make_annotator(project, "lead", role="lead")
    client.force_login(lead)
    response = client.get(panel_url(project) + "?sort=%3Cscript%3E&page=zz")
    assert response.status_code == 200 and "<script>" not in response.content.decode()


@pytest.mark.parametrize(
    "role, status", [("lead", 200), ("researcher", 403), ("annotator", 403), (None, 404)]
)
def test_only_leads_and_staff_see_the_panel(client, campaign, role, status):
    project, _ = campaign
    user = get_user_model().objects.create_user("someone")
    if role:
        from annotation.models import Membership

        Membership.objects.create(user=user, project=project, role=role)
    client.force_login(user)
    assert client.get(panel_url(project)).status_code == status
    user.is_staff = True
    user.save()
    assert client.get(panel_url(project)).status_code == 200


def test_anonymous_visitors_are_sent_to_log_in(client, campaign):
    project, _ = campaign
    assert client.get(panel_url(project)).status_code == 302


def test_queries_do_not_grow_with_annotators_or_judgments(client, django_assert_max_num_queries):
    project = make_project(slug="qn")
    lead, _ = make_annotator(project, "lead", role="lead")
    client.force_login(lead)

    def grow(n_annotators: int, n_prompts: int) -> None:
        people = raters(project, n_annotators)
        for _ in range(n_prompts):
            _, (r1, r2) = prompt_with_responses(project, 2)
            for p in people:
                likert(r1, p, (1, 2, 3, 4), duration_ms=1000)
                pick(r1, r2, p, "left")
        for i in range(n_annotators):
            make_annotator(project, f"member-{n_annotators}-{i}")

    grow(2, 2)
    aggregation_run_create(project=project, trigger="command", n_resamples=10)
    dashboard_refresh(project_id=project.pk)  # as the queued job does after the commits
    with django_assert_max_num_queries(MAX_QUERIES) as few:
        small = client.get(panel_url(project))
    grow(10, 6)
    aggregation_run_create(project=project, trigger="command", n_resamples=10)
    dashboard_refresh(project_id=project.pk)  # as the queued job does after the commits
    with django_assert_max_num_queries(MAX_QUERIES) as many:
        big = client.get(panel_url(project))
    assert small.status_code == big.status_code == 200
    assert big.content.decode().count("<tr data-annotator=") == 20
    assert len(few) == len(many), "the query count grew with annotators and judgments"


def test_the_lead_page_loads_the_panel(client, campaign):
    project, _ = campaign
    lead, _ = make_annotator(project, "lead", role="lead")
    client.force_login(lead)
    html = client.get(f"/p/{project.slug}/lead/").content.decode()
    assert f'hx-get="/scoring/p/{project.slug}/annotators/"' in html
    assert f'href="/scoring/p/{project.slug}/annotators/"' in html


def test_project_apply_takes_the_thresholds_and_names_a_bad_one():
    project, _ = project_apply(
        definition={"slug": "t", "check_min_gold_accuracy": 0.8, "check_left_pick_p": 0.001}
    )
    assert project.check_min_gold_accuracy == 0.8 and project.check_left_pick_p == 0.001
    with pytest.raises(ValidationProblems) as caught:
        project_apply(definition={"slug": "t", "check_max_skip_rate": 1.5})
    (problem,) = caught.value.problems
    assert problem.field == "check_max_skip_rate" and "1" in problem.message
