"""The releases page says what each release's state is: only a release still being built
has no version yet (issue 11, item 7)."""

import pytest

from exports.models import Release
from exports.services.build import release_build

from .factories import scored_project

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(project):
    return scored_project(project, n_prompts=9, annotators=3)


def test_a_release_built_before_the_page_shows_is_ready_with_its_version_and_no_pending_words(
    client, lead_user, scored, export_dir, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("exports.tasks.release_build.delay", lambda *a: queued.append(a))
    client.force_login(lead_user)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/releases/p/demo/", {"run": scored.run.pk}).status_code == 302
    release = Release.objects.get()
    release_build(release=release)  # the worker's part, done before the lead's next page
    html = client.get("/releases/p/demo/").content.decode()
    assert f"Release #{release.pk} requested from run {scored.run.pk}." in html
    assert "<strong>v1</strong>" in html
    assert "gets its version" not in html and "gets one when" not in html


def test_a_release_still_building_says_it_has_no_version_yet(client, lead_user, scored):
    release = Release.objects.create(
        project=scored.project, run=scored.run, seed=0, test_fraction=0.2
    )
    client.force_login(lead_user)
    html = client.get("/releases/p/demo/").content.decode()
    row = html.split(f'data-release="{release.pk}"')[1].split("</tr>")[0]
    assert "No version yet: it gets one when this build completes." in row
