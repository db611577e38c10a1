"""Lead pages for imports: the upload form and the near-duplicate clusters."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from . import access
from .errors import ValidationProblems
from .models import ImportBatch, Prompt
from .services.imports import items_import, judgments_import


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            ("items", "Prompts and responses (.jsonl or .csv)"),
            ("judgments", "Existing judgments (.jsonl)"),
        ]
    )
    file = forms.FileField()
    on_duplicate = forms.ChoiceField(
        choices=[
            ("reject", "Reject the file if a prompt repeats another word for word"),
            ("merge", "Merge the repeated prompt's responses into the first one"),
            ("keep", "Keep both and mark them as near duplicates"),
        ],
        initial="reject",
        required=False,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > settings.IMPORT_MAX_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; the limit is {settings.IMPORT_MAX_BYTES:,}. "
                "Split it, or use the import_items command."
            )
        if not upload.name.lower().endswith((".jsonl", ".json", ".csv", ".ndjson")):
            raise forms.ValidationError("Upload a .jsonl or .csv file.")
        return upload


@login_required
def import_upload(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    problems = None
    if request.method == "POST":
        form = ImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if form.cleaned_data["kind"] == "items":
                    result = items_import(
                        project=project,
                        source=upload,
                        filename=upload.name,
                        user=request.user,
                        on_duplicate=form.cleaned_data["on_duplicate"] or "reject",
                    )
                else:
                    result = judgments_import(
                        project=project, source=upload, filename=upload.name, user=request.user
                    )
            except ValidationProblems as exc:
                problems = exc
            else:
                created = ", ".join(f"{n} {what}" for what, n in result.created.items())
                unchanged = sum(result.unchanged.values())
                messages.success(
                    request,
                    f"Imported {upload.name}: {created} created, {unchanged} already there.",
                )
                return redirect("imports:upload", slug=project.slug)
    else:
        form = ImportForm()
    batches = ImportBatch.objects.filter(project=project).select_related("created_by")[:20]
    status = 400 if problems else 200
    return render(
        request,
        "annotation/imports.html",
        {"project": project, "form": form, "problems": problems, "batches": batches},
        status=status,
    )


@login_required
def near_duplicates(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    clusters = (
        Prompt.objects.filter(project=project, near_dup_cluster__isnull=False)
        .values("near_dup_cluster")
        .annotate(size=Count("id"))
        .order_by("-size", "near_dup_cluster")
    )
    page = Paginator(clusters, 25).get_page(request.GET.get("page"))
    roots = [c["near_dup_cluster"] for c in page]
    members: dict[int, list[Prompt]] = {root: [] for root in roots}
    for prompt in (
        Prompt.objects.filter(project=project, near_dup_cluster__in=roots)
        .select_related("domain")
        .order_by("id")
    ):
        members[prompt.near_dup_cluster].append(prompt)
    return render(
        request,
        "annotation/near_duplicates.html",
        {"project": project, "page": page, "clusters": [(root, members[root]) for root in roots]},
    )
