"""Projects with their criteria, domains and members; memberships on their own."""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet

from ..models import Criterion, Domain, Membership, Project
from ..services.projects import criteria_problems, domain_problems
from .quality import pause_members, resume_members
from .scoping import PROJECT_FILTER, AccountField, LeadScopedAdmin, LeadScopedInline, is_staff


class _WholeSetFormSet(BaseInlineFormSet):
    """Validates the inline rows as one set, with the same checks as project_apply."""

    check = None  # criteria_problems or domain_problems
    fields_checked: tuple[str, ...] = ()

    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        rows = [
            {f: form.cleaned_data.get(f) for f in self.fields_checked}
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        problems = type(self).check(rows)
        if problems:
            raise ValidationError([p.message for p in problems])


class CriterionFormSet(_WholeSetFormSet):
    check = staticmethod(criteria_problems)
    fields_checked = ("key", "weight", "scale_min", "scale_max")


class DomainFormSet(_WholeSetFormSet):
    check = staticmethod(domain_problems)
    fields_checked = ("name", "target_share")


POINT_LINE = re.compile(r"^\s*([+-]?\d+)\s*:\s*(.*?)\s*$")
POINT_LABEL_MAX = 100
POINT_LABELS_HELP = (
    'One line per scale point you want to name, as value: label, e.g. "1: Poor" and '
    '"5: Excellent". Points without a line show their number only.'
)


def point_labels_text(labels: dict) -> str:
    """The stored labels ({"1": "Poor"}) as the form shows them, one "1: Poor" per line."""

    def value(key: str) -> tuple[int, str]:
        return (int(key), key) if str(key).lstrip("+-").isdigit() else (0, str(key))

    return "\n".join(f"{k}: {labels[k]}" for k in sorted(labels, key=value))


def point_labels_parse(text: str, scale_min: int, scale_max: int) -> tuple[dict, list[str]]:
    """Lines of "value: label" -> ({"value": "label"}, problems), each problem naming its
    line and the fix. Blank lines are skipped."""
    labels: dict[str, str] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        match = POINT_LINE.match(raw)
        if match is None:
            problems.append(
                f"Line {number} ({raw.strip()[:40]!r}): write the point's value, a colon and "
                'its label, e.g. "1: Poor".'
            )
            continue
        point, label = int(match[1]), match[2]
        if not scale_min <= point <= scale_max:
            problems.append(
                f"Line {number}: {point} is not on the scale {scale_min}..{scale_max}; "
                f"use a value from {scale_min} to {scale_max}."
            )
        elif not label:
            problems.append(
                f"Line {number}: point {point} has no label; write one after the colon."
            )
        elif len(label) > POINT_LABEL_MAX:
            problems.append(
                f"Line {number}: the label is {len(label)} characters; keep it to "
                f"{POINT_LABEL_MAX} (it shows under the scale point)."
            )
        elif str(point) in labels:
            problems.append(
                f"Line {number}: point {point} is named twice; keep one line per point."
            )
        else:
            labels[str(point)] = label
    return labels, problems


class CriterionForm(forms.ModelForm):
    """A criterion, with its point labels typed one "1: Poor" per line (stored as the same
    JSON object that project_apply writes: {"1": "Poor"})."""

    point_labels = forms.CharField(
        required=False,
        label="Point labels",
        help_text=POINT_LABELS_HELP,
        widget=forms.Textarea(attrs={"rows": 5, "cols": 32}),
    )

    class Meta:
        model = Criterion
        fields = (
            "position",
            "key",
            "label",
            "description",
            "scale_min",
            "scale_max",
            "level",
            "weight",
            "point_labels",
        )
        widgets = {"description": forms.Textarea(attrs={"rows": 3, "cols": 48})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.point_labels if self.instance.pk else {}
        self.initial["point_labels"] = point_labels_text(stored or {})

    def clean(self):
        cleaned = super().clean()
        text = cleaned.get("point_labels") or ""
        lo, hi = cleaned.get("scale_min"), cleaned.get("scale_max")
        if lo is None or hi is None:
            return cleaned  # the scale's own error is shown; labels are checked once it is fixed
        labels, problems = point_labels_parse(text, lo, hi)
        if problems:
            self.add_error("point_labels", problems)
        else:
            cleaned["point_labels"] = labels
        return cleaned


class CriterionInline(LeadScopedInline, admin.StackedInline):
    """Stacked, not tabular: nine columns with two text boxes made the project page
    2,555 px wide; stacked rows fit a laptop and a phone."""

    model = Criterion
    form = CriterionForm
    formset = CriterionFormSet
    extra = 0
    fields = (
        ("key", "label", "position"),
        "description",
        ("scale_min", "scale_max", "level", "weight"),
        "point_labels",
    )


class DomainInline(LeadScopedInline, admin.TabularInline):
    model = Domain
    formset = DomainFormSet
    extra = 0
    fields = ("name", "target_share", "safety_critical")


class MembershipForm(forms.ModelForm):
    """A member is added by typing their exact username or email: the admin never lists
    every account for a lead to pick from. Leads cannot add staff accounts (staff see every
    project already)."""

    account = AccountField()
    # Set by MembershipAdmin.get_form / MembershipInline.get_formset for the request.
    staff_request = False

    class Meta:
        model = Membership
        fields = ("account", "project", "role")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial.setdefault("account", self.instance.user.get_username())

    def clean(self):
        cleaned = super().clean()
        user = cleaned.get("account")
        if user is None:
            return cleaned
        if (user.is_staff or user.is_superuser) and not self.staff_request:
            self.add_error("account", "This is a staff account; staff see every project already.")
            return cleaned
        project = cleaned.get("project") or getattr(self.instance, "project", None)
        if project is not None and project.pk is not None:
            taken = Membership.objects.filter(user=user, project=project)
            if taken.exclude(pk=self.instance.pk).exists():
                self.add_error("account", f"{user} is already a member of this project.")
        return cleaned

    def save(self, commit=True):
        self.instance.user = self.cleaned_data["account"]
        return super().save(commit=commit)


def _for_request(form_class: type[MembershipForm], request) -> type[MembershipForm]:
    return type(form_class.__name__, (form_class,), {"staff_request": is_staff(request)})


class MembershipInline(LeadScopedInline, admin.TabularInline):
    model = Membership
    lead_can_delete = True  # as on the memberships page
    form = MembershipForm
    fields = ("account", "role")
    extra = 0

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = _for_request(self.form, request)
        return super().get_formset(request, obj, **kwargs)


@admin.register(Project)
class ProjectAdmin(LeadScopedAdmin):
    project_path = "pk"
    lead_can_add = (
        False  # a lead cannot make themselves lead of a new project; staff create projects
    )
    list_display = (
        "name",
        "slug",
        "status",
        "likert_quorum",
        "pairwise_quorum",
        "n_prompts",
        "created_at",
    )
    list_filter = ("status",)
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [CriterionInline, DomainInline, MembershipInline]
    fieldsets = (
        (None, {"fields": ("name", "slug", "status", "guidelines")}),
        (
            "Quorum and task mix",
            {
                "fields": (
                    "likert_quorum",
                    "pairwise_quorum",
                    "pairwise_weight",
                    "lease_seconds",
                    "gold_rate",
                    "dispute_boost",
                )
            },
        ),
        (
            "Aggregation and releases",
            {
                "fields": (
                    "blend_alpha",
                    "pairwise_method",
                    "agreement_target",
                    "tie_tolerance",
                    "test_fraction",
                    "seed",
                )
            },
        ),
        (
            "Composition targets",
            {"fields": ("origin_targets", "source_targets")},
        ),
        (
            "Annotator checks (warnings on the lead page)",
            {
                "fields": (
                    "check_min_gold_accuracy",
                    "check_min_agreement",
                    "check_max_straight_lining",
                    "check_left_pick_p",
                    "check_max_skip_rate",
                    "check_min_n",
                )
            },
        ),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(prompt_count=Count("prompts", distinct=True))

    @admin.display(description="prompts", ordering="prompt_count")
    def n_prompts(self, obj) -> int:
        return obj.prompt_count


@admin.register(Membership)
class MembershipAdmin(LeadScopedAdmin):
    form = MembershipForm
    fields = ("account", "project", "role")
    lead_can_delete = True
    list_display = ("user", "project", "role", "paused_at", "created_at")
    list_filter = ("role", PROJECT_FILTER)
    search_fields = ("user__username", "user__email", "project__slug")
    list_select_related = ("user", "project")
    actions = [pause_members, resume_members]

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = _for_request(self.form, request)
        return super().get_form(request, obj, **kwargs)
