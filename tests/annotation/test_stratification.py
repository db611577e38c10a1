from collections import Counter
from uuid import uuid4

import pytest

from annotation.models import DomainProgress, LikertJudgment
from annotation.services.assignments import assignment_claim_next
from annotation.services.judgments import judgment_submit_likert

from .builders import add_items, make_annotator, make_project, ratings_for

pytestmark = pytest.mark.django_db

TARGETS = {"code": 0.5, "chat": 0.3, "safety": 0.2}


def test_after_300_claims_the_completed_work_per_domain_is_within_2_points_of_the_targets():
    project = make_project(likert_quorum=3, domains=tuple(TARGETS.items()))
    # Plenty of open work everywhere, and deliberately not in target proportions.
    add_items(project, prompts=120, domain="code")
    add_items(project, prompts=200, domain="chat")
    add_items(project, prompts=200, domain="safety")
    annotators = [make_annotator(project, f"a{i}")[1] for i in range(6)]
    for n in range(300):
        ann = annotators[n % len(annotators)]
        lease = assignment_claim_next(project=project, annotator=ann)
        assert lease is not None
        judgment_submit_likert(
            project=project,
            annotator=ann,
            assignment_id=lease.pk,
            client_key=uuid4(),
            ratings=ratings_for(project),
        )
    done = Counter(LikertJudgment.objects.values_list("response__prompt__domain__name", flat=True))
    assert sum(done.values()) == 300
    for name, target in TARGETS.items():
        assert abs(done[name] / 300 - target) <= 0.02, (name, done)
    counters = dict(DomainProgress.objects.values_list("domain__name", "done"))
    assert counters == dict(done)


def test_inside_a_domain_tasks_closest_to_quorum_come_first():
    project = make_project(likert_quorum=3)
    add_items(project, prompts=30)
    annotators = [make_annotator(project, f"a{i}")[1] for i in range(3)]
    first = assignment_claim_next(project=project, annotator=annotators[0])
    judgment_submit_likert(
        project=project,
        annotator=annotators[0],
        assignment_id=first.pk,
        client_key=uuid4(),
        ratings=ratings_for(project),
    )
    # The started task (1 of 3) is preferred over the 29 untouched ones by everyone else.
    assert assignment_claim_next(project=project, annotator=annotators[1]).task_id == first.task_id
    assert assignment_claim_next(project=project, annotator=annotators[2]).task_id == first.task_id


def test_a_domain_with_nothing_open_is_passed_over():
    project = make_project(likert_quorum=1, domains=(("empty", 0.9), ("full", 0.1)))
    add_items(project, prompts=3, domain="full")
    _, ann = make_annotator(project, "a")
    lease = assignment_claim_next(project=project, annotator=ann)
    assert lease is not None and lease.task.domain.name == "full"
