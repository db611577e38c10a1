"""The project page of the admin for a lead who is not staff: criteria, domains and members
inline, for their own projects only; point labels typed one "1: Poor" per line."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from annotation.models import Criterion, Membership
from annotation.services.projects import project_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def other_project(db):
    return project_create(slug="secret", name="Secret project", domains=[{"name": "classified"}])


def page_data(project, **changes) -> dict:
    """The project change form as the admin would post it back, with ``changes`` applied."""
    from django.contrib import admin

    from annotation.models import Project

    fieldsets = admin.site._registry[Project].fieldsets
    names = [name for _, options in fieldsets for name in options["fields"]]
    data = {
        name: "" if getattr(project, name) is None else getattr(project, name) for name in names
    }
    criteria = list(project.criteria.order_by("position", "id"))
    domains = list(project.domains.order_by("name"))
    members = list(project.memberships.select_related("user").order_by("id"))
    for prefix, rows in (("criteria", criteria), ("domains", domains), ("memberships", members)):
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": len(rows),
                f"{prefix}-INITIAL_FORMS": len(rows),
                f"{prefix}-MIN_NUM_FORMS": 0,
                f"{prefix}-MAX_NUM_FORMS": 1000,
            }
        )
    for i, c in enumerate(criteria):
        labels = "\n".join(f"{k}: {v}" for k, v in c.point_labels.items())
        data.update(
            {
                f"criteria-{i}-id": c.pk,
                f"criteria-{i}-project": project.pk,
                f"criteria-{i}-position": c.position,
                f"criteria-{i}-key": c.key,
                f"criteria-{i}-label": c.label,
                f"criteria-{i}-description": c.description,
                f"criteria-{i}-scale_min": c.scale_min,
                f"criteria-{i}-scale_max": c.scale_max,
                f"criteria-{i}-level": c.level,
                f"criteria-{i}-weight": c.weight,
                f"criteria-{i}-point_labels": labels,
            }
        )
    for i, d in enumerate(domains):
        data.update(
            {
                f"domains-{i}-id": d.pk,
                f"domains-{i}-project": project.pk,
                f"domains-{i}-name": d.name,
                f"domains-{i}-target_share": d.target_share,
            }
        )
    for i, m in enumerate(members):
        data.update(
            {
                f"memberships-{i}-id": m.pk,
                f"memberships-{i}-project": project.pk,
                f"memberships-{i}-account": m.user.username,
                f"memberships-{i}-role": m.role,
            }
        )
    data.update(changes)
    return data


def change_url(project) -> str:
    return f"/admin/annotation/project/{project.pk}/change/"


def test_a_lead_who_is_not_staff_sees_criteria_domains_and_members_on_the_project_page(
    client, project, lead_user, annotator_user
):
    client.force_login(lead_user)
    html = client.get(change_url(project)).content.decode()
    for criterion in project.criteria.all():
        assert f'value="{criterion.key}"' in html
    assert 'name="domains-0-name"' in html and 'value="general"' in html
    assert 'name="memberships-0-account"' in html and 'value="ann"' in html


def test_a_lead_edits_criteria_domains_and_members_of_their_own_project(
    client, project, lead_user, annotator_user
):
    get_user_model().objects.create_user("newcomer")
    client.force_login(lead_user)
    data = page_data(
        project,
        **{
            "criteria-0-label": "Helpfulness",
            "criteria-0-point_labels": "1: Useless\n\n5: Solves it",
            "domains-0-safety_critical": "on",
            "memberships-TOTAL_FORMS": 3,
            "memberships-2-project": project.pk,
            "memberships-2-account": "newcomer",
            "memberships-2-role": "researcher",
        },
    )
    response = client.post(change_url(project), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    first = project.criteria.order_by("position", "id").first()
    assert first.label == "Helpfulness"
    assert first.point_labels == {"1": "Useless", "5": "Solves it"}
    assert project.domains.get().safety_critical
    assert Membership.objects.get(user__username="newcomer").project == project


def test_a_lead_cannot_edit_another_projects_criteria_through_their_own_page(
    client, project, lead_user, other_project
):
    client.force_login(lead_user)
    theirs = other_project.criteria.order_by("position").first()
    data = page_data(project, **{"criteria-0-id": theirs.pk, "criteria-0-label": "Hijacked"})
    client.post(change_url(project), data)
    assert Criterion.objects.get(pk=theirs.pk).label == theirs.label
    assert not Criterion.objects.filter(label="Hijacked").exists()
    # And another project's page, inlines included, is not theirs to open.
    assert client.get(change_url(other_project)).status_code == 302


def test_a_lead_may_not_delete_criteria_or_domains(client, project, lead_user):
    client.force_login(lead_user)
    html = client.get(change_url(project)).content.decode()
    assert 'name="criteria-0-DELETE"' not in html and 'name="domains-0-DELETE"' not in html


def test_point_labels_are_typed_one_per_line_and_shown_the_same_way(client, project, lead_user):
    Criterion.objects.filter(project=project, key="usefulness").update(
        point_labels={"5": "Solves it", "1": "Useless"}
    )
    client.force_login(lead_user)
    html = client.get(change_url(project)).content.decode()
    assert "1: Useless\n5: Solves it</textarea>" in html
    assert "{&quot;1&quot;" not in html and "{&quot;5&quot;" not in html  # no JSON box


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("1 Useless", "Line 1 (&#x27;1 Useless&#x27;): write the point&#x27;s value, a colon"),
        ("1: Useless\n9: Perfect", "Line 2: 9 is not on the scale 1..5; use a value from 1 to 5."),
        ("1: Useless\n1: Bad", "Line 2: point 1 is named twice; keep one line per point."),
        ("3:", "Line 1: point 3 has no label; write one after the colon."),
    ],
)
def test_bad_point_labels_name_the_line_and_the_fix_and_change_nothing(
    client, project, lead_user, typed, says
):
    client.force_login(lead_user)
    data = page_data(project, **{"criteria-0-point_labels": typed, "criteria-0-label": "Changed"})
    response = client.post(change_url(project), data)
    assert response.status_code == 200
    assert says in response.content.decode()
    first = project.criteria.order_by("position", "id").first()
    assert first.label != "Changed" and first.point_labels == {}


def test_the_admin_index_names_import_batches_in_plain_english(client, project, lead_user):
    client.force_login(lead_user)
    html = client.get("/admin/").content.decode()
    assert "Import batches" in html and "batchs" not in html.lower()


def test_no_model_in_the_admin_has_a_naively_pluralized_name():
    import re

    from django.contrib import admin

    for model in admin.site._registry:
        plural = str(model._meta.verbose_name_plural)
        assert not re.search(r"(ch|sh|x|[^aeiou]y)s$", plural), plural
