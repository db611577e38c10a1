"""API tokens: create one (the key is returned once, never stored) and revoke one.

Reads (a user's tokens, whose tokens a lead may manage) are in ``annotation.selectors``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction

from ..errors import DomainError
from ..models import ApiToken

# The expiries offered on the token page and in the admin, in days. There is no "never": a
# key copied into a forgotten script stops working on its own.
EXPIRY_DAYS = (7, 30, 90, 365)
DEFAULT_EXPIRY_DAYS = 90
MAX_TOKENS_PER_USER = 20
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length


@dataclass(frozen=True)
class NewApiToken:
    token: ApiToken
    # The secret itself: show it to the person once, then forget it.
    key: str


def api_token_problem(*, user: AbstractBaseUser, name: str, expires_in_days: int) -> str | None:
    """Why this token cannot be created, in words for the person asking; None if it can."""
    name = (name or "").strip()
    if not name:
        return "Give the token a name, e.g. the script that will use it."
    if len(name) > NAME_MAX_LENGTH:
        return f"The name is too long: at most {NAME_MAX_LENGTH} characters."
    if expires_in_days not in EXPIRY_DAYS:
        return f"Choose an expiry of {', '.join(str(d) for d in EXPIRY_DAYS)} days."
    if ApiToken.objects.filter(user=user, name=name).exists():
        return f"{user} already has a token named '{name}'; choose another name."
    if ApiToken.objects.filter(user=user).count() >= MAX_TOKENS_PER_USER:
        return f"{user} has {MAX_TOKENS_PER_USER} tokens, the most allowed; revoke one first."
    return None


def api_token_create(*, user: AbstractBaseUser, name: str, expires_in_days: int) -> NewApiToken:
    problem = api_token_problem(user=user, name=name, expires_in_days=expires_in_days)
    if problem:
        raise DomainError(problem)
    name = name.strip()
    try:
        with transaction.atomic():
            token, key = ApiToken.objects.create(
                user=user, name=name, expiry=timedelta(days=expires_in_days)
            )
    except IntegrityError as exc:  # the same name, created by a concurrent request
        raise DomainError(
            f"{user} already has a token named '{name}'; choose another name."
        ) from exc
    return NewApiToken(token=token, key=key)


def api_token_revoke(*, token: ApiToken) -> None:
    """The key stops working at once: authentication finds no row for it (401)."""
    token.delete()
