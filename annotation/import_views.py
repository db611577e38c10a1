"""Lead pages for imports: the upload form, a background import's progress, and the
near-duplicate clusters."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from . import access
from .errors import DomainError, ValidationProblems
from .import_uploads import upload_prepare, upload_refused
from .models import ImportBatch, Project, Prompt
from .services.imports import (
    import_job_start,
    import_job_summary,
    import_runs_in_background,
    items_import,
    judgments_import,
)

JOB_TEMPLATE = "annotation/import_job.html"


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
        if not upload.name.lower().endswith((".jsonl", ".json", ".csv", ".ndjson")):
            raise forms.ValidationError("Upload a .jsonl or .csv file.")
        return upload


# The CSRF check reads the body, so it runs inside, after the size check has installed the
# upload handler (see import_uploads): Django's documented pattern for changing upload
# handlers ("Modifying upload handlers on the fly"). Nothing before it writes anything.
@csrf_exempt
@login_required
def import_upload(request: HttpRequest, slug: str) -> HttpResponse:
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    if request.method == "POST":
        refusal = upload_prepare(request)
        if refusal:
            return _upload_page(request, project, ImportForm(), error=refusal, status=413)
    return _import_upload(request, project)


@csrf_protect
def _import_upload(request: HttpRequest, project: Project) -> HttpResponse:
    if request.method != "POST":
        return _upload_page(request, project, ImportForm())
    form = ImportForm(request.POST, request.FILES)
    refusal = upload_refused(request)
    if refusal:
        return _upload_page(request, project, form, error=refusal, status=413)
    if not form.is_valid():
        return _upload_page(request, project, form, status=400)
    upload = form.cleaned_data["file"]
    kind = form.cleaned_data["kind"]
    on_duplicate = form.cleaned_data["on_duplicate"] or "reject"
    try:
        if import_runs_in_background(upload):
            batch = import_job_start(
                project=project,
                kind=kind,
                upload=upload,
                user=request.user,
                on_duplicate=on_duplicate,
            )
            return redirect("imports:job", slug=project.slug, batch_id=batch.pk)
        if kind == "items":
            result = items_import(
                project=project,
                source=upload,
                filename=upload.name,
                user=request.user,
                on_duplicate=on_duplicate,
                record_unchanged=True,
            )
        else:
            result = judgments_import(
                project=project,
                source=upload,
                filename=upload.name,
                user=request.user,
                record_unchanged=True,
            )
    except ValidationProblems as exc:
        return _upload_page(request, project, form, problems=exc, status=400)
    except DomainError as exc:
        return _upload_page(request, project, form, error=str(exc), status=exc.status_code)
    created = ", ".join(f"{n} {what}" for what, n in result.created.items())
    unchanged = sum(result.unchanged.values())
    messages.success(
        request, f"Imported {upload.name}: {created} created, {unchanged} already there."
    )
    return redirect("imports:upload", slug=project.slug)


def _upload_page(
    request: HttpRequest,
    project: Project,
    form: ImportForm,
    *,
    problems: ValidationProblems | None = None,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    batches = ImportBatch.objects.filter(project=project).select_related("created_by")[:20]
    history = [ImportHistoryRow.of(b) for b in batches]
    return render(
        request,
        "annotation/imports.html",
        {
            "project": project,
            "form": form,
            "problems": problems,
            "error": error,
            "history": history,
            "max_bytes": settings.IMPORT_MAX_BYTES,
        },
        status=status,
    )


ON_DUPLICATE_WORDS = {
    "reject": "repeated prompts rejected",
    "merge": "repeated prompts merged",
    "keep": "repeated prompts kept as near duplicates",
}


COUNTED_WORDS = {"likert": "Likert judgments", "pairwise": "pairwise judgments"}


def _counted(counts: dict) -> str:
    """{"prompts": 12, "responses": 1} -> "12 prompts, 1 response"; zeros and non-numbers
    left out."""
    shown = []
    for what, n in counts.items():
        if not isinstance(n, int) or isinstance(n, bool) or not n:
            continue
        words = COUNTED_WORDS.get(what, what.replace("_", " "))
        shown.append(f"{n:,} {words.removesuffix('s') if n == 1 else words}")
    return ", ".join(shown)


@dataclass(frozen=True)
class ImportHistoryRow:
    """One upload in the history, in words: what it created, what was already there, and
    how it was asked to run. A re-import (a done import that created nothing) says so."""

    batch: ImportBatch
    created: str
    unchanged: str
    notes: str
    options: str
    reimport: bool

    @classmethod
    def of(cls, batch: ImportBatch) -> ImportHistoryRow:
        counts = batch.counts or {}
        created = {k: v for k, v in counts.items() if k not in NOT_CREATED}
        unchanged = counts.get("unchanged") if isinstance(counts.get("unchanged"), dict) else {}
        merged = counts.get("merged") if isinstance(counts.get("merged"), dict) else {}
        notes = []
        if _counted(merged):
            notes.append(f"merged into earlier prompts: {_counted(merged)}")
        clusters = counts.get("near_duplicate_clusters")
        if clusters:
            notes.append(f"{clusters} near-duplicate cluster{pluralize(clusters)}")
        options = [
            ON_DUPLICATE_WORDS.get(str(v), f"on duplicate: {v}")
            if k == "on_duplicate"
            else f"{k.replace('_', ' ')}: {v}"
            for k, v in (batch.options or {}).items()
        ]
        done = batch.status == ImportBatch.Status.DONE
        return cls(
            batch=batch,
            created=_counted(created) or ("0 new" if done else ""),
            unchanged=_counted(unchanged),
            notes="; ".join(notes),
            options="; ".join(options),
            reimport=done and not _counted(created),
        )


# Keys of ImportBatch.counts that are not rows the import created.
NOT_CREATED = frozenset({"unchanged", "merged", "near_duplicate_clusters"})


@login_required
def import_job(request: HttpRequest, slug: str, batch_id: int) -> HttpResponse:
    """A background import's status: the whole page, or for HTMX (which polls it until the
    import has finished) the status card alone."""
    project = access.project_get_for(request.user, slug, roles=access.MANAGE)
    batch = get_object_or_404(ImportBatch, project=project, pk=batch_id)
    template = f"{JOB_TEMPLATE}#job" if request.htmx else JOB_TEMPLATE
    response = render(
        request,
        template,
        {
            "project": project,
            "batch": batch,
            "job": import_job_summary(batch),
            "row": ImportHistoryRow.of(batch),
        },
    )
    response["Cache-Control"] = "no-store"
    return response


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
