"""API tokens for scripts (django-rest-knox with names and a last-used time).

Knox stores only a SHA-512 digest of each key and the key's first 15 characters to find the
row; the key itself exists once, in the response that created it. A user holds several tokens,
one per script, each named, each with an expiry, each revocable on its own.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from knox.models import AbstractAuthToken
from knox.settings import CONSTANTS


class ApiToken(AbstractAuthToken):
    # Knox makes the digest the primary key; a plain id keeps it out of admin and page URLs.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=CONSTANTS.DIGEST_LENGTH, unique=True, editable=False)
    token_key = models.CharField(
        max_length=CONSTANTS.MAXIMUM_TOKEN_PREFIX_LENGTH + CONSTANTS.TOKEN_KEY_LENGTH,
        db_index=True,
        editable=False,
    )
    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'nightly export'.")
    # Written at most once a minute per token (see annotation.authentication).
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API token"
        constraints = [
            models.UniqueConstraint(fields=["user", "name"], name="api_token_name_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @property
    def expired(self) -> bool:
        return self.expiry is not None and self.expiry <= timezone.now()
