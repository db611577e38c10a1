"""The Django admin, as a lead's working tool.

Staff can do everything. A project lead who is not staff may still use the admin, scoped to
the projects they lead: they see and edit those projects' criteria, domains, prompts,
responses and members, read (never edit or delete) judgments, and manage the API tokens of
people who belong only to their projects. Every choice a lead can make (foreign keys,
autocomplete, filters) is scoped the same way (``scoping``). Criteria and domains are
validated exactly like ``project_apply`` (weights and shares sum to 1).
"""

from . import items, judgments, projects, quality, tokens  # noqa: F401  (registers the admins)
from .scoping import LeadScopedAdmin, is_staff, lead_project_ids_of, led_project_ids

__all__ = ["LeadScopedAdmin", "is_staff", "lead_project_ids_of", "led_project_ids"]
