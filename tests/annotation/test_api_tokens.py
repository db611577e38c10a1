"""API tokens: a user's own token page and the API authenticated with a token (issue 8,
item 1). Keys are stored as digests, shown once, named, expire, and are revoked one by one."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from annotation.models import ApiToken
from annotation.services.tokens import MAX_TOKENS_PER_USER

pytestmark = pytest.mark.django_db

PAGE = "/releases/me/token/"
API = "/api/v1/projects/"


def _api(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def _create(client, name: str, days: int = 30):
    return client.post(PAGE, {"action": "create", "name": name, "expires_in_days": days})


def _key_on(html: str) -> str:
    return re.search(r'id="token-key" readonly value="([0-9a-f]{64})"', html).group(1)


def test_a_user_creates_a_named_token_sees_the_key_once_and_uses_it(client, researcher_user):
    client.force_login(researcher_user)
    assert "You have no API tokens yet" in client.get(PAGE).content.decode()
    response = _create(client, "nightly export", days=90)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    key = _key_on(response.content.decode())
    token = ApiToken.objects.get(user=researcher_user)
    assert token.name == "nightly export"
    assert timedelta(days=89) < token.expiry - timezone.now() <= timedelta(days=90)
    assert key not in (token.digest, token.token_key) and len(token.digest) == 128
    later = client.get(PAGE).content.decode()
    assert "nightly export" in later and key not in later and token.token_key not in later
    assert token.last_used_at is None
    response = _api(key).get(API)
    assert response.status_code == 200 and response.data["results"][0]["slug"] == "demo"
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_at.strftime("%Y-%m-%d %H:%M") in client.get(PAGE).content.decode()


def test_a_user_holds_several_tokens_and_revokes_one_without_touching_the_others(
    client, researcher_user
):
    client.force_login(researcher_user)
    first = _key_on(_create(client, "script one").content.decode())
    second = _key_on(_create(client, "script two").content.decode())
    token = ApiToken.objects.get(user=researcher_user, name="script one")
    response = client.post(PAGE, {"action": "revoke", "token": token.pk})
    assert response.status_code == 302
    assert _api(first).get(API).status_code == 401
    assert _api(second).get(API).status_code == 200
    assert list(ApiToken.objects.values_list("name", flat=True)) == ["script two"]


def test_an_expired_token_gets_401(researcher_user, api_token_for):
    key = api_token_for(researcher_user)
    assert _api(key).get(API).status_code == 200
    ApiToken.objects.filter(user=researcher_user).update(
        expiry=timezone.now() - timedelta(seconds=1)
    )
    response = _api(key).get(API)
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_a_token_of_a_deactivated_user_gets_401(researcher_user, api_token_for):
    key = api_token_for(researcher_user)
    researcher_user.is_active = False
    researcher_user.save(update_fields=["is_active"])
    assert _api(key).get(API).status_code == 401


@pytest.mark.parametrize(
    "header", ["Token nope", "Token ", "Bearer {key}", "Token {key} extra", "Token {key}x"]
)
def test_anything_but_the_exact_key_in_the_token_header_gets_401(
    researcher_user, api_token_for, header
):
    key = api_token_for(researcher_user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header.format(key=key))
    assert client.get(API).status_code == 401


def test_a_user_cannot_revoke_someone_elses_token(
    client, researcher_user, lead_user, api_token_for
):
    api_token_for(lead_user)
    theirs = ApiToken.objects.get(user=lead_user)
    client.force_login(researcher_user)
    assert client.post(PAGE, {"action": "revoke", "token": theirs.pk}).status_code == 404
    assert client.post(PAGE, {"action": "revoke", "token": "²"}).status_code == 404
    assert ApiToken.objects.filter(pk=theirs.pk).exists()


@pytest.mark.parametrize(
    ("name", "days", "message"),
    [
        ("", 30, "This field is required."),
        ("x" * 101, 30, "at most 100 characters"),
        ("nightly", 0, "Select a valid choice."),
        ("nightly", "forever", "Select a valid choice."),
        ("taken", 30, "already has a token named &#x27;taken&#x27;; choose another name."),
    ],
)
def test_a_bad_token_request_is_a_400_that_says_what_to_fix(
    client, researcher_user, name, days, message
):
    client.force_login(researcher_user)
    _create(client, "taken")
    response = _create(client, name, days)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert ApiToken.objects.count() == 1


def test_a_user_may_hold_only_so_many_tokens(researcher_user, api_token_for, client):
    for _ in range(MAX_TOKENS_PER_USER):
        api_token_for(researcher_user)
    client.force_login(researcher_user)
    response = _create(client, "one too many")
    assert response.status_code == 400
    assert "revoke one first" in response.content.decode()


def test_the_token_page_needs_a_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
