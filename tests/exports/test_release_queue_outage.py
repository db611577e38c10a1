"""A release requested while the broker is down: never an error after the release was
committed; the lead is told, the release is marked failed with the reason, and it counts."""

from __future__ import annotations

from annotation.models import SideEffectFailure
from exports.models import Release

from ..own_redis import broker_at

DEAD_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def test_a_release_requested_on_the_page_while_the_broker_is_down_says_so(
    client, lead_user, scored
):
    client.force_login(lead_user)
    with broker_at(DEAD_BROKER):
        response = client.post("/releases/p/demo/", {"run": scored.run.pk}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "could not be queued for building: the task queue (Redis) is unreachable" in html
    release = Release.objects.get()
    assert (release.status, release.version) == ("failed", None)
    assert "request it again" in release.error
    failure = SideEffectFailure.objects.get(project=scored.project)
    assert (failure.what, failure.count) == ("queue exports.tasks.release_build", 1)


def test_a_release_requested_through_the_api_while_the_broker_is_down_is_a_503(
    client, lead_user, scored
):
    client.force_login(lead_user)
    with broker_at(DEAD_BROKER):
        response = client.post("/api/v1/projects/demo/releases/create/", {}, format="json")
    assert (response.status_code, response["Retry-After"]) == (503, "60")
    body = response.json()
    assert body["status"] == "failed" and "unreachable" in body["detail"]
    assert Release.objects.get().status == "failed"
