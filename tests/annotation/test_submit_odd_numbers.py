"""A rating must be written in ASCII digits: "²" used to be a 500 (``str.isdigit`` accepts it,
``int()`` does not), "٣" was stored as 3, and 5,000 digits overflowed ``int()``."""

from uuid import uuid4

import pytest

from annotation.models import LikertJudgment
from annotation.services.assignments import assignment_claim_next

from .builders import add_items, make_annotator, make_project

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["²", "٣", "３", "1e0", "+3", "3.0", "9" * 5000])
def test_a_rating_not_in_ascii_digits_is_a_400_and_writes_nothing(client, value):
    project = make_project(slug="s", likert_quorum=2, pairwise_quorum=2)
    add_items(project, prompts=1, responses=1)
    user, annotator = make_annotator(project, "ann")
    client.force_login(user)
    lease = assignment_claim_next(project=project, annotator=annotator)
    data = {f"rating-{k}": "3" for k in project.criteria.values_list("key", flat=True)}
    data["rating-safety"] = value
    data["client_key"] = str(uuid4())
    response = client.post(f"/p/{project.slug}/leases/{lease.pk}/submit/", data)
    assert response.status_code == 400
    assert b"is not a whole number" in response.content
    assert not LikertJudgment.objects.exists()


@pytest.mark.parametrize("action", ["submit", "skip"])
def test_a_lease_id_beyond_the_database_range_is_a_404(client, action):
    project = make_project(slug="s", likert_quorum=2, pairwise_quorum=2)
    add_items(project, prompts=1, responses=1)
    user, _ = make_annotator(project, "ann")
    client.force_login(user)
    data = {f"rating-{k}": "3" for k in project.criteria.values_list("key", flat=True)}
    data.update(client_key=str(uuid4()), reason="unqualified")
    response = client.post(f"/p/{project.slug}/leases/{'9' * 30}/{action}/", data)
    assert response.status_code == 404
    assert not LikertJudgment.objects.exists()
