from uuid import uuid4

import pytest

from annotation.errors import DomainError
from annotation.models import Assignment, LikertJudgment, PairwiseJudgment, Task
from annotation.services.assignments import assignment_claim_next
from annotation.services.judgments import judgment_submit_likert
from annotation.signals import judgments_recorded

from .builders import add_items, make_annotator, make_project, ratings_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    project = make_project(slug="s", likert_quorum=2, pairwise_quorum=2)
    add_items(project, prompts=3, responses=2)
    user, ann = make_annotator(project, "ann")
    other_user, other = make_annotator(project, "other")
    return project, user, ann, other_user, other


def url(project, lease, action="submit"):
    return f"/p/{project.slug}/leases/{lease.pk}/{action}/"


def form(project, key=None, value=3, **extra):
    data = {f"rating-{k}": str(value) for k in project.criteria.values_list("key", flat=True)}
    data["client_key"] = str(key or uuid4())
    data.update(extra)
    return data


def test_a_retried_submission_returns_200_with_the_same_judgment_and_no_second_row(client, setup):
    project, user, ann, *_ = setup
    client.force_login(user)
    lease = assignment_claim_next(project=project, annotator=ann)
    data = form(project)
    first = client.post(url(project, lease), data, HTTP_HX_REQUEST="true")
    retry = client.post(url(project, lease), data, HTTP_HX_REQUEST="true")
    assert first.status_code == 200 and retry.status_code == 200
    assert first["X-Judgment-Id"] == retry["X-Judgment-Id"]
    assert (first["X-Judgment-Created"], retry["X-Judgment-Created"]) == ("1", "0")
    assert LikertJudgment.objects.count() == 1
    assert Task.objects.get(pk=lease.task_id).done_count == 1


def test_a_retry_through_the_json_interface_reports_the_stored_judgment(client, setup):
    project, user, ann, *_ = setup
    client.force_login(user)
    lease = assignment_claim_next(project=project, annotator=ann)
    data = form(project)
    first = client.post(url(project, lease), data, HTTP_ACCEPT="application/json")
    retry = client.post(url(project, lease), data, HTTP_ACCEPT="application/json")
    assert first.status_code == 201 and retry.status_code == 200
    assert first.json()["judgment_id"] == retry.json()["judgment_id"]
    assert retry.json()["created"] is False


def test_the_service_returns_the_stored_judgment_on_retry(setup):
    project, _, ann, *_ = setup
    lease = assignment_claim_next(project=project, annotator=ann)
    key = uuid4()
    args = dict(
        project=project,
        annotator=ann,
        assignment_id=lease.pk,
        client_key=key,
        ratings=ratings_for(project),
    )
    first = judgment_submit_likert(**args)
    again = judgment_submit_likert(**args)
    assert first.created and not again.created and first.judgment.pk == again.judgment.pk


def test_a_second_submission_with_a_new_key_for_a_done_task_is_a_conflict(setup):
    project, _, ann, *_ = setup
    lease = assignment_claim_next(project=project, annotator=ann)
    args = dict(
        project=project, annotator=ann, assignment_id=lease.pk, ratings=ratings_for(project)
    )
    judgment_submit_likert(client_key=uuid4(), **args)
    with pytest.raises(DomainError) as exc:
        judgment_submit_likert(client_key=uuid4(), **args)
    assert exc.value.status_code == 409
    assert LikertJudgment.objects.count() == 1


def test_submitting_someone_elses_lease_is_refused_and_writes_nothing(client, setup):
    project, user, ann, other_user, other = setup
    theirs = assignment_claim_next(project=project, annotator=other)
    client.force_login(user)
    response = client.post(url(project, theirs), form(project))
    assert response.status_code == 403
    assert b"leased to another annotator" in response.content
    assert not LikertJudgment.objects.exists()
    theirs.refresh_from_db()
    assert theirs.state == "active"


def test_submitting_an_unknown_task_is_a_404_and_writes_nothing(client, setup):
    project, user, *_ = setup
    client.force_login(user)
    response = client.post(
        f"/p/{project.slug}/leases/999999/submit/", form(project), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 404
    assert b"no such task" in response.content
    assert not LikertJudgment.objects.exists()


@pytest.mark.parametrize("value", ["0", "6", "3.5", "x", "-1", ""])
def test_an_out_of_scale_or_missing_rating_is_a_400_and_writes_nothing(client, setup, value):
    project, user, ann, *_ = setup
    client.force_login(user)
    lease = assignment_claim_next(project=project, annotator=ann)
    data = form(project)
    data["rating-safety"] = value
    response = client.post(url(project, lease), data)
    assert response.status_code == 400
    assert b"Nothing was saved" in response.content
    assert not LikertJudgment.objects.exists()
    lease.refresh_from_db()
    assert lease.state == "active"
    assert Task.objects.get(pk=lease.task_id).done_count == 0


def test_an_unknown_criterion_or_flag_is_a_400(client, setup):
    project, user, ann, *_ = setup
    client.force_login(user)
    lease = assignment_claim_next(project=project, annotator=ann)
    assert (
        client.post(url(project, lease), form(project, **{"rating-bogus": "3"})).status_code == 400
    )
    assert client.post(url(project, lease), form(project, flags="nonsense")).status_code == 400
    assert (
        client.post(url(project, lease), form(project, client_key="not-a-uuid")).status_code == 400
    )
    assert not LikertJudgment.objects.exists()


def test_a_pairwise_submission_needs_a_valid_choice(client, setup):
    project, user, ann, *_ = setup
    project.pairwise_weight = 1.0
    project.save()
    client.force_login(user)
    lease = assignment_claim_next(project=project, annotator=ann)
    assert lease.task.kind == "pairwise"
    bad = client.post(url(project, lease), {"client_key": str(uuid4()), "choice": "both"})
    assert bad.status_code == 400 and not PairwiseJudgment.objects.exists()
    good = client.post(url(project, lease), {"client_key": str(uuid4()), "choice": "right"})
    assert good.status_code == 302
    judgment = PairwiseJudgment.objects.get()
    assert judgment.choice == "right" and judgment.assignment_id == lease.pk


def test_a_committed_submission_announces_itself_once_to_listeners(
    setup, django_capture_on_commit_callbacks
):
    project, _, ann, *_ = setup
    received = []

    def listener(sender, project_id, count, **kwargs):
        received.append((project_id, count))

    judgments_recorded.connect(listener)
    try:
        lease = assignment_claim_next(project=project, annotator=ann)
        key = uuid4()
        args = dict(
            project=project,
            annotator=ann,
            assignment_id=lease.pk,
            client_key=key,
            ratings=ratings_for(project),
        )
        with django_capture_on_commit_callbacks(execute=True):
            judgment_submit_likert(**args)
        with django_capture_on_commit_callbacks(execute=True):
            judgment_submit_likert(**args)  # the retry records nothing new
    finally:
        judgments_recorded.disconnect(listener)
    assert received == [(project.pk, 1)]


def test_the_judgment_records_the_lease_flags_comment_and_duration(setup):
    project, _, ann, *_ = setup
    lease = assignment_claim_next(project=project, annotator=ann)
    result = judgment_submit_likert(
        project=project,
        annotator=ann,
        assignment_id=lease.pk,
        client_key=uuid4(),
        ratings=ratings_for(project, 5),
        flags=["unsure", "unsafe"],
        comment="Looks plausible",
        duration_ms="12345",
    )
    j = LikertJudgment.objects.get(pk=result.judgment.pk)
    assert (j.assignment_id, j.flags, j.comment, j.duration_ms) == (
        lease.pk,
        ["unsafe", "unsure"],
        "Looks plausible",
        12345,
    )
    assert set(j.ratings.values()) == {5}
    assert Assignment.objects.get(pk=lease.pk).state == "done"


def test_outsiders_get_404_and_researchers_403(client, setup, django_user_model):
    project, *_ = setup
    outsider = django_user_model.objects.create_user(username="out")
    client.force_login(outsider)
    assert client.get(f"/p/{project.slug}/annotate/").status_code == 404
    researcher, _ = make_annotator(project, "res", role="researcher")
    client.force_login(researcher)
    assert client.get(f"/p/{project.slug}/annotate/").status_code == 403
    assert not Assignment.objects.exists()
