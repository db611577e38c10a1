"""API tokens in the admin, as a project lead who is not staff, with a superuser, a staff
member and a second project present (issue 8, item 1)."""

import re

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from annotation.models import ApiToken, Membership
from annotation.services.projects import project_create
from annotation.services.tokens import api_token_create

pytestmark = pytest.mark.django_db

ADMIN = "/admin/annotation/apitoken/"


def _user(username: str, **extra):
    return get_user_model().objects.create_user(
        username, email=f"{username}@example.com", password="pw", **extra
    )


@pytest.fixture
def world(project, lead_user, researcher_user):
    """Everyone whose token a lead must not touch, each a member of the lead's project, as
    the attack in the issue made the superuser; each holds a token named after them."""
    other = project_create(slug="other", name="Other project")
    researcher_user.email = "res@example.com"
    researcher_user.save(update_fields=["email"])
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    staff = _user("staffer", is_staff=True)
    both = _user("both")  # researcher here and in a project the lead does not lead
    stranger = _user("stranger")
    for user in (root, staff, both):
        Membership.objects.create(user=user, project=project, role="researcher")
    Membership.objects.create(user=both, project=other, role="researcher")
    Membership.objects.create(user=stranger, project=other, role="researcher")
    people = {"res": researcher_user, "root": root, "staffer": staff, "both": both}
    people["stranger"] = stranger
    for name, user in people.items():
        api_token_create(user=user, name=f"{name}-script", expires_in_days=30)
    return people


def _listed_names(html: str) -> set[str]:
    return set(re.findall(r"([a-z]+-script)", html))


def _key_on(html: str) -> str:
    return re.search(r'id="api-token-key"[^>]*value="([0-9a-f]+)"', html).group(1)


def test_a_lead_sees_only_the_tokens_of_people_who_belong_only_to_their_projects(
    client, lead_user, world
):
    client.force_login(lead_user)
    page = client.get(ADMIN)
    assert page.status_code == 200
    assert _listed_names(page.content.decode()) == {"res-script"}


@pytest.mark.parametrize("owner", ["root", "staffer", "both", "stranger"])
def test_a_lead_cannot_open_or_revoke_a_token_of_someone_outside_their_reach(
    client, lead_user, world, owner
):
    token = ApiToken.objects.get(user=world[owner])
    client.force_login(lead_user)
    for view in ("change", "delete"):
        response = client.get(f"{ADMIN}{token.pk}/{view}/")
        assert response.status_code == 302 and response["Location"] == "/admin/"
    client.post(f"{ADMIN}{token.pk}/delete/", {"post": "yes"})
    client.post(ADMIN, {"action": "revoke_selected", "_selected_action": [token.pk]})
    assert ApiToken.objects.filter(pk=token.pk).exists()


@pytest.mark.parametrize("account", ["root", "root@example.com", "staffer", "both", "stranger"])
def test_a_lead_cannot_create_a_token_for_someone_outside_their_reach(
    client, lead_user, world, account
):
    before = ApiToken.objects.count()
    client.force_login(lead_user)
    response = client.post(
        f"{ADMIN}add/", {"account": account, "name": "minted", "expires_in_days": 30}
    )
    assert response.status_code == 200
    assert "No account you may choose has the username or email" in response.content.decode()
    assert ApiToken.objects.count() == before


def test_a_lead_creates_a_token_for_a_researcher_and_the_key_is_shown_only_once(
    client, lead_user, world
):
    client.force_login(lead_user)
    response = client.post(
        f"{ADMIN}add/", {"account": "res@example.com", "name": "nightly", "expires_in_days": 90}
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = _key_on(response.content.decode())
    token = ApiToken.objects.get(user=world["res"], name="nightly")
    assert key not in {token.digest, token.token_key}  # only a digest is stored
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/projects/").status_code == 200
    for url in (ADMIN, f"{ADMIN}{token.pk}/change/", f"{ADMIN}{token.pk}/delete/", "/admin/"):
        html = client.get(url).content.decode()
        assert key not in html and token.token_key not in html and token.digest not in html


def test_a_lead_revokes_a_researchers_token_and_it_stops_working(
    client, api_token_for, lead_user, researcher_user, world
):
    key = api_token_for(researcher_user)
    token = ApiToken.objects.get(user=researcher_user, name__startswith="test token")
    client.force_login(lead_user)
    assert client.post(f"{ADMIN}{token.pk}/delete/", {"post": "yes"}).status_code == 302
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/projects/").status_code == 401


def test_staff_see_and_create_every_token(client, world):
    client.force_login(world["root"])
    assert _listed_names(client.get(ADMIN).content.decode()) == {
        "res-script",
        "root-script",
        "staffer-script",
        "both-script",
        "stranger-script",
    }
    response = client.post(
        f"{ADMIN}add/", {"account": "stranger", "name": "by staff", "expires_in_days": 7}
    )
    assert response.status_code == 200
    assert ApiToken.objects.filter(user=world["stranger"], name="by staff").exists()


def test_the_add_form_lists_no_accounts(client, lead_user, world):
    client.force_login(lead_user)
    html = client.get(f"{ADMIN}add/").content.decode()
    assert 'name="account"' in html and '<select name="account"' not in html
    for name in ("root", "staffer", "stranger"):
        assert name not in html


def test_annotators_cannot_reach_the_token_admin(client, annotator_user):
    client.force_login(annotator_user)
    response = client.get(ADMIN)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
