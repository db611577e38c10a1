"""Login throttling (django-axes): by account and by address, 429 with when to retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/?next=/admin/"
ATTACKER = "198.51.100.7"
ELSEWHERE = "203.0.113.20"


@pytest.fixture
def users(db):
    model = get_user_model()
    return {
        "kim": model.objects.create_user(username="kim", password="kims-right-password"),
        "lee": model.objects.create_user(username="lee", password="lees-right-password"),
        "ops": model.objects.create_user(
            username="ops", password="ops-right-password", is_staff=True
        ),
    }


def attempt(client, username, password, address, path=LOGIN):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


def logged_in_as(client) -> str | None:
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id).username if user_id else None


def fail_until_locked(client, username, address, settings, path=LOGIN):
    """Wrong passwords up to the limit: all but the last show the form again."""
    responses = [
        attempt(client, username, f"wrong-{n}", address, path)
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert [r.status_code for r in responses[:-1]] == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    return responses[-1]


def test_the_limit_th_failure_gets_429_with_retry_after_and_a_page_saying_when(
    client, users, settings
):
    locked = fail_until_locked(client, "kim", ATTACKER, settings)

    assert locked.status_code == 429
    assert locked["Retry-After"] == str(15 * 60)
    page = locked.content.decode()
    assert "Too many failed logins" in page
    assert "Try again in 15 minutes" in page
    assert 'class="topbar"' in page  # the site's layout, not a bare message
    assert 'href="/accounts/login/"' in page


def test_the_right_password_is_refused_while_locked(client, users, settings):
    fail_until_locked(client, "kim", ATTACKER, settings)

    again = attempt(client, "kim", "kims-right-password", ATTACKER)

    assert again.status_code == 429
    assert logged_in_as(client) is None


def test_the_account_is_locked_from_every_address(client, users, settings):
    fail_until_locked(client, "kim", ATTACKER, settings)

    from_elsewhere = attempt(client, "kim", "kims-right-password", ELSEWHERE)

    assert from_elsewhere.status_code == 429
    assert logged_in_as(client) is None


def test_the_address_is_locked_for_every_account(client, users, settings):
    # One wrong password for each of many accounts: a spray from one address.
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(client, f"guess-{n}", "wrong", ATTACKER).status_code == 200

    sprayed = attempt(client, "lee", "lees-right-password", ATTACKER)

    assert sprayed.status_code == 302  # under the limit, the right password still works...
    assert logged_in_as(client) == "lee"
    client.logout()
    assert attempt(client, "kim", "wrong", ATTACKER).status_code == 429  # ...the limit holds


def test_another_account_from_another_address_still_logs_in(client, users, settings):
    fail_until_locked(client, "kim", ATTACKER, settings)

    response = attempt(client, "lee", "lees-right-password", ELSEWHERE)

    assert response.status_code == 302
    assert logged_in_as(client) == "lee"


def test_after_the_cool_off_the_right_password_logs_in_again(client, users, settings):
    fail_until_locked(client, "kim", ATTACKER, settings)
    assert attempt(client, "kim", "kims-right-password", ATTACKER).status_code == 429

    # The cool-off counts from the latest attempt: move every attempt past it.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.values("attempt_time")[0]["attempt_time"]
        - settings.AXES_COOLOFF_TIME
        - timedelta(seconds=1)
    )
    response = attempt(client, "kim", "kims-right-password", ATTACKER)

    assert response.status_code == 302
    assert logged_in_as(client) == "kim"


def test_logging_in_to_ones_own_account_does_not_clear_the_count_of_the_address(
    client, users, settings
):
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "kim", f"wrong-{n}", ATTACKER)
    assert attempt(client, "lee", "lees-right-password", ATTACKER).status_code == 302
    client.logout()

    assert attempt(client, "kim", "wrong-again", ATTACKER).status_code == 429


def test_the_admin_login_is_throttled_too(client, users, settings):
    locked = fail_until_locked(client, "ops", ATTACKER, settings, path=ADMIN_LOGIN)

    assert locked.status_code == 429
    assert 'href="/admin/login/?next=/admin/"' in locked.content.decode()
    assert attempt(client, "ops", "ops-right-password", ATTACKER, ADMIN_LOGIN).status_code == 429
    assert logged_in_as(client) is None


def test_the_failure_limit_setting_is_honoured(client, users, settings):
    settings.AXES_FAILURE_LIMIT = 2

    assert attempt(client, "kim", "wrong-1", ATTACKER).status_code == 200
    assert attempt(client, "kim", "wrong-2", ATTACKER).status_code == 429


def test_behind_a_proxy_each_client_address_counts_separately(client, users, settings):
    # TRENCHCOAT_PROXY_COUNT=1: one proxy, which appends the address it saw to X-Forwarded-For.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.2"

    def through_proxy(username, client_address, claimed=""):
        forwarded = f"{claimed}, {client_address}" if claimed else client_address
        return client.post(
            LOGIN,
            {"username": username, "password": "wrong"},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    # The attacker claims a fresh address each time; only the one the proxy saw counts.
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        assert through_proxy(f"guess-{n}", ATTACKER, claimed=f"192.0.2.{n}").status_code == 200
    # A colleague behind the same proxy is not locked out with the attacker.
    assert through_proxy("guess-last", ELSEWHERE).status_code == 200
    assert through_proxy("guess-last", ATTACKER).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {
        ATTACKER,
        ELSEWHERE,
    }


def test_a_lead_cannot_see_the_recorded_attempts_in_the_admin(client, users, lead_user, settings):
    # Attempts hold every user's address; the admin shows them to superusers only.
    fail_until_locked(client, "kim", ATTACKER, settings)
    client.force_login(lead_user)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/axes/accessattempt/").status_code == 403
    root = get_user_model().objects.create_superuser("root", password=None)
    client.force_login(root)
    assert ATTACKER in client.get("/admin/axes/accessattempt/").content.decode()
