"""Who may use the admin, and its login form: staff and project leads (leads are not staff)."""

from __future__ import annotations

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm

from .scoping import lead_project_ids_of


def may_use_admin(user) -> bool:
    """Active staff, and active leads of at least one project. Anonymous users may not."""
    if not (user.is_authenticated and user.is_active):
        return False
    return user.is_staff or bool(lead_project_ids_of(user))


class AdminLoginForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": (
            "Enter the username and password of a staff account or of a project lead. "
            "Both fields may be case-sensitive."
        ),
    }

    def confirm_login_allowed(self, user) -> None:
        if not user.is_active:
            raise forms.ValidationError(self.error_messages["inactive"], code="inactive")
        if not may_use_admin(user):
            raise forms.ValidationError(
                "This account may not use the admin: it is for staff and project leads. "
                "Your projects are on the home page.",
                code="not_admin",
            )
