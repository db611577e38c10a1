"""The core invariant under real concurrency on PostgreSQL (DESIGN 4.1).

32 threads, each its own annotator with its own database connection, claim and submit until
no work is left, while a sampler thread checks from the leases themselves (not the counters
the claim maintains) that no task ever has more than quorum judgments plus live leases.
"""

import threading
import time
from collections import Counter
from uuid import uuid4

import pytest
from django.db import connection, connections
from django.db.models import F

from annotation.models import Assignment, LikertJudgment, PairwiseJudgment, Task
from annotation.services.assignments import assignment_claim_next, assignment_skip
from annotation.services.judgments import judgment_submit_likert, judgment_submit_pairwise

from .builders import add_items, make_annotator, make_project, ratings_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

THREADS = 32
QUORUM = 3

# Per task: in-quorum judgments (done leases) plus live leases, from the assignments table.
OVERSHOOT_SQL = """
    SELECT t.id, t.quorum, count(a.id)
    FROM annotation_task t
    JOIN annotation_assignment a ON a.task_id = t.id AND a.state IN ('active', 'done')
    GROUP BY t.id, t.quorum
    HAVING count(a.id) > t.quorum
"""


def _work(project, annotator, errors, deadline, skip_every=0):
    n = 0
    try:
        while time.monotonic() < deadline:
            lease = assignment_claim_next(project=project, annotator=annotator)
            if lease is None:
                # Pairs open when a prompt's Likert tasks finish, and others' leases may be
                # skipped: stop only when no task is below quorum any more.
                if not Task.objects.filter(done_count__lt=F("quorum")).exists():
                    return
                time.sleep(0.005)
                continue
            n += 1
            if skip_every and n % skip_every == 0:
                assignment_skip(
                    project=project, annotator=annotator, assignment_id=lease.pk, reason="other"
                )
            elif lease.task.kind == Task.Kind.LIKERT:
                judgment_submit_likert(
                    project=project,
                    annotator=annotator,
                    assignment_id=lease.pk,
                    client_key=uuid4(),
                    ratings=ratings_for(project),
                )
            else:
                judgment_submit_pairwise(
                    project=project,
                    annotator=annotator,
                    assignment_id=lease.pk,
                    client_key=uuid4(),
                    choice="tie",
                )
        errors.append(f"{annotator} ran out of time")
    except Exception as exc:  # surfaced to the test thread below
        errors.append(repr(exc))
    finally:
        connection.close()


def _sample(stop, violations, samples):
    try:
        while not stop.is_set():
            with connection.cursor() as cursor:
                cursor.execute(OVERSHOOT_SQL)
                violations.extend(cursor.fetchall())
                cursor.execute(
                    "SELECT count(*) FROM annotation_task WHERE filled > quorum OR filled <> done_count + active_count"
                )
                bad = cursor.fetchone()[0]
                if bad:
                    violations.append(("counters", bad))
            samples.append(1)
    finally:
        connection.close()


def test_32_annotators_in_parallel_fill_every_task_to_exactly_its_quorum_and_never_beyond():
    project = make_project(
        likert_quorum=QUORUM, pairwise_quorum=QUORUM, domains=(("a", 0.5), ("b", 0.5))
    )
    add_items(project, prompts=15, responses=2, domain="a")
    add_items(project, prompts=15, responses=3, domain="b")
    annotators = [make_annotator(project, f"ann{i}")[1] for i in range(THREADS)]
    # One annotator skips every third task: skips free slots that others must still fill.
    errors, violations, samples = [], [], []
    stop = threading.Event()
    sampler = threading.Thread(target=_sample, args=(stop, violations, samples))
    sampler.start()
    deadline = time.monotonic() + 120
    workers = [
        threading.Thread(target=_work, args=(project, ann, errors, deadline, 3 if i == 0 else 0))
        for i, ann in enumerate(annotators)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    sampler.join()
    connections.close_all()

    assert errors == [], "\n".join(errors[:6])
    assert violations == []
    assert len(samples) > 5  # the sampler really watched
    tasks = list(Task.objects.all())
    assert len(tasks) == 15 * 2 + 15 * 3 + 15 * 1 + 15 * 3
    assert all((t.done_count, t.active_count, t.filled) == (QUORUM, 0, QUORUM) for t in tasks)
    likert = Counter(LikertJudgment.objects.values_list("response_id", flat=True))
    assert set(likert.values()) == {QUORUM} and len(likert) == 75
    for response_id in likert:
        annotators_of = LikertJudgment.objects.filter(response_id=response_id).values_list(
            "annotator_id", flat=True
        )
        assert len(set(annotators_of)) == QUORUM
    pairs = Counter(PairwiseJudgment.objects.values_list("response_a_id", "response_b_id"))
    assert set(pairs.values()) == {QUORUM} and len(pairs) == 60
    assert not LikertJudgment.objects.filter(over_quorum=True).exists()
    assert not Assignment.objects.filter(state="active").exists()
    skipped = Assignment.objects.filter(state="skipped")
    assert skipped.exists() and all(s.annotator_id == annotators[0].pk for s in skipped)
