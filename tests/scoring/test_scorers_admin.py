"""The scorer admin: staff manage every scorer; a lead (not staff) sees the shared scorers
and those of the projects they lead, and registers scorers for those projects only (none
that reads a model directory on the workers)."""

from __future__ import annotations

import pytest

from annotation.services.projects import project_create
from scoring.backends import directory_revision
from scoring.models import Scorer

from .tiny_rms import build_llama

pytestmark = pytest.mark.django_db

ADD = "/admin/scoring/scorer/add/"


def _form(**fields) -> dict:
    data = {
        "name": "",
        "kind": "metric",
        "backend": "builtin",
        "metric": "",
        "project": "",
        "model_path": "",
        "dtype": "auto",
        "max_length": 4096,
        "batch_tokens": 16384,
        "template": "",
        "system_prompt": "",
        "bos": "auto",
        "higher_is_better": "on",
        "description": "",
        "licence": "",
    }
    data.update(fields)
    return data


@pytest.fixture
def other_project(db):
    return project_create(slug="secret", name="Secret", domains=[{"name": "general"}])


def test_staff_register_a_reward_model_with_the_revision_of_its_directory(
    client, project, tmp_path
):
    from django.contrib.auth import get_user_model

    model = build_llama(tmp_path / "rm")
    client.force_login(get_user_model().objects.create_superuser("root", "r@x.org", "pw"))
    response = client.post(
        ADD,
        _form(name="team-rm", kind="reward_model", backend="transformers", model_path=str(model)),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    scorer = Scorer.objects.get(name="team-rm")
    assert scorer.project is None
    assert scorer.revision == directory_revision(model)


def test_a_lead_registers_a_metric_for_their_project_but_no_model_directory(
    client, project, lead_user, tmp_path
):
    client.force_login(lead_user)
    response = client.post(ADD, _form(name="team-words", metric="length_words", project=project.pk))
    assert response.status_code == 302
    assert Scorer.objects.get(name="team-words").project == project
    refused = client.post(
        ADD,
        _form(
            name="team-rm",
            kind="reward_model",
            backend="transformers",
            model_path=str(build_llama(tmp_path / "rm")),
            project=project.pk,
        ),
    )
    assert refused.status_code == 200
    assert "Only staff" in refused.context["adminform"].form.errors["backend"][0]
    assert not Scorer.objects.filter(name="team-rm").exists()


def test_the_admin_shows_the_problem_on_its_field(client, project, tmp_path):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("root", "r@x.org", "pw"))
    response = client.post(
        ADD,
        _form(
            name="nowhere",
            kind="reward_model",
            backend="transformers",
            model_path=str(tmp_path / "missing"),
        ),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "does not exist" in errors["model_path"][0]
    assert not Scorer.objects.filter(name="nowhere").exists()


def test_a_lead_must_name_their_project_and_cannot_pick_another(
    client, project, lead_user, other_project
):
    client.force_login(lead_user)
    shared = client.post(ADD, _form(name="shared", metric="length_chars"))
    assert "Choose the project you lead" in shared.content.decode()
    foreign = client.post(
        ADD, _form(name="foreign", metric="length_chars", project=other_project.pk)
    )
    assert foreign.status_code == 200
    assert "project" in foreign.context["adminform"].form.errors
    assert not Scorer.objects.exists()


def test_a_lead_sees_shared_and_own_scorers_but_changes_only_their_own(
    client, project, lead_user, other_project
):
    shared = Scorer.objects.create(
        name="chars", kind="metric", backend="builtin", metric="length_chars"
    )
    own = Scorer.objects.create(
        name="own", kind="metric", backend="builtin", metric="length_words", project=project
    )
    foreign = Scorer.objects.create(
        name="foreign",
        kind="metric",
        backend="builtin",
        metric="length_words",
        project=other_project,
    )
    client.force_login(lead_user)
    listing = client.get("/admin/scoring/scorer/").content.decode()
    assert "chars" in listing and "own" in listing and "foreign" not in listing
    assert client.get(f"/admin/scoring/scorer/{foreign.pk}/change/").status_code in (302, 404)
    change_shared = client.post(
        f"/admin/scoring/scorer/{shared.pk}/change/", _form(name="chars", metric="length_words")
    )
    assert change_shared.status_code == 403
    shared.refresh_from_db()
    assert shared.metric == "length_chars"
    changed = client.post(
        f"/admin/scoring/scorer/{own.pk}/change/",
        _form(name="own", metric="markdown_density", project=project.pk),
    )
    assert changed.status_code == 302
    own.refresh_from_db()
    assert own.metric == "markdown_density"


def test_annotators_and_outsiders_cannot_open_the_scorer_admin(
    client, project, annotator_user, outsider_user
):
    for user in (annotator_user, outsider_user):
        client.force_login(user)
        assert client.get("/admin/scoring/scorer/").status_code == 302
