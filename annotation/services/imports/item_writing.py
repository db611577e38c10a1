"""Writing an items import: the plan a clean file adds (prompts, responses), its gold
items, and the near-duplicate clusters of the new prompts, all inside the caller's
transaction. What to write is decided in ``items``."""

from __future__ import annotations

from dataclasses import dataclass, field

from ...bulk import bulk_insert
from ...models import Domain, ImportBatch, Project, Prompt, PromptBand, Response
from .. import dedup
from ..quality import gold_mark
from ..tasks import tasks_sync
from .item_parsing import GoldRow, PromptRow, ResponseRow
from .result import Progress

PROMPT_COLUMNS = (
    "project_id",
    "domain_id",
    "text",
    "source",
    "external_id",
    "content_hash",
    "minhash",
    "provenance",
    "import_batch_id",
)
RESPONSE_COLUMNS = (
    "project_id",
    "prompt_id",
    "text",
    "origin",
    "model_name",
    "external_id",
    "content_hash",
    "provenance",
)
BATCH = 2000


@dataclass
class _Plan:
    """What a clean file adds to the project."""

    new_prompts: list[PromptRow] = field(default_factory=list)
    # (target prompt: a stored Prompt or a new PromptRow, response row)
    new_responses: list[tuple[Prompt | PromptRow, ResponseRow]] = field(default_factory=list)
    unchanged: dict[str, int] = field(default_factory=lambda: {"prompts": 0, "responses": 0})
    merged: dict[str, int] = field(default_factory=lambda: {"prompts": 0})


def _write_gold(project: Project, gold: list[GoldRow], user) -> None:
    if not gold:
        return
    names = {g.response_id for g in gold} | {g.response_b for g in gold if g.response_b}
    responses = {
        r.external_id: r
        for r in Response.objects.filter(project=project, external_id__in=names).select_related(
            "prompt"
        )
    }
    for g in gold:
        gold_mark(
            project=project,
            response=responses[g.response_id],
            response_b=responses[g.response_b] if g.response_b else None,
            expected_ratings=g.ratings or None,
            expected_choice=g.choice,
            tolerance=g.tolerance,
            explanation=g.explanation,
            by=user if getattr(user, "is_authenticated", False) else None,
        )


def _write(
    project: Project,
    batch: ImportBatch,
    plan: _Plan,
    domains: dict[str, Domain],
    progress: Progress,
) -> int:
    """Writes the plan's prompts, responses, near-duplicate clusters and tasks (inside the
    caller's transaction); returns the number of near-duplicate clusters."""
    signatures: dict[str, dedup.MinHash] = {
        row.external_id: dedup.minhash_of(dedup.shingles(row.text)) for row in plan.new_prompts
    }
    bulk_insert(
        Prompt,
        PROMPT_COLUMNS,
        (
            (
                project.pk,
                domains[row.domain].pk,
                row.text,
                row.source,
                row.external_id,
                row.content_hash,
                dedup.minhash_bytes(signatures[row.external_id]),
                row.provenance,
                batch.pk,
            )
            for row in plan.new_prompts
        ),
    )
    progress.report_written(len(plan.new_prompts))
    # COPY returns no ids: read them back by the natural key.
    prompt_ids = dict(Prompt.objects.filter(import_batch=batch).values_list("external_id", "id"))
    bulk_insert(
        Response,
        RESPONSE_COLUMNS,
        (
            (
                project.pk,
                target.pk if isinstance(target, Prompt) else prompt_ids[target.external_id],
                r.text,
                r.origin,
                r.model_name,
                r.external_id,
                r.content_hash,
                r.provenance,
            )
            for target, r in plan.new_responses
        ),
    )
    progress.report_written(len(plan.new_responses))
    clusters = _cluster_new_prompts(
        project,
        batch,
        [
            (prompt_ids[row.external_id], row.text, signatures[row.external_id])
            for row in plan.new_prompts
        ],
    )
    # Last: it locks the project's TaskSync row and writes the domain counters, which are
    # then held only until COMMIT (see services.assignments on lock order).
    tasks_sync(project=project)
    return clusters


def _stored_candidates(project: Project, ids: list[int], keys) -> set[tuple[int, int]]:
    """(stored prompt, new prompt) pairs that share a band key, by the PromptBand index."""
    owners: dict[int, list[int]] = {}
    for pk, row in zip(ids, keys.tolist(), strict=True):
        for key in row:
            owners.setdefault(key, []).append(pk)
    unique = list(owners)
    pairs = set()
    for start in range(0, len(unique), BATCH):
        for key, stored in PromptBand.objects.filter(
            project=project, key__in=unique[start : start + BATCH]
        ).values_list("key", "prompt_id"):
            pairs.update((stored, pk) for pk in owners[key])
    return pairs


def _cluster_new_prompts(
    project: Project,
    batch: ImportBatch,
    new: list[tuple[int, str, dedup.MinHash]],
) -> int:
    """Assign near_dup_cluster for the new prompts (id, text, signature) and any stored
    prompts they join."""
    ids = [pk for pk, _, _ in new]
    keys = dedup.band_keys(dedup.signature_matrix(m for _, _, m in new))
    # Candidates among the stored prompts by their indexed band keys (read before this
    # import's keys are written), and among the new prompts in memory.
    pairs = _stored_candidates(project, ids, keys) | dedup.candidate_pairs_among(ids, keys)
    bulk_insert(
        PromptBand,
        ("project_id", "prompt_id", "key"),
        ((project.pk, pk, key) for pk, row in zip(ids, keys.tolist(), strict=True) for key in row),
    )
    clusters = dedup.near_duplicate_clusters(
        pairs,
        {pk: text for pk, text, _ in new},
        lambda ids: dict(Prompt.objects.filter(pk__in=ids).values_list("pk", "text")),
    )
    if not clusters:
        return 0
    # A stored prompt may already belong to a cluster with another root: keep the smallest.
    stored = dict(
        Prompt.objects.filter(pk__in=list(clusters), near_dup_cluster__isnull=False).values_list(
            "pk", "near_dup_cluster"
        )
    )
    root_of_root: dict[int, int] = {}
    for pk, root in clusters.items():
        if pk in stored:
            root_of_root[root] = min(root_of_root.get(root, root), stored[pk])
    final = {pk: root_of_root.get(root, root) for pk, root in clusters.items()}
    old_roots = {stored[pk]: final[pk] for pk in stored if stored[pk] != final[pk]}
    for old_root, new_root in old_roots.items():
        Prompt.objects.filter(project=project, near_dup_cluster=old_root).update(
            near_dup_cluster=new_root
        )
    by_root: dict[int, list[int]] = {}
    for pk, root in final.items():
        by_root.setdefault(root, []).append(pk)
    for root, pks in by_root.items():
        Prompt.objects.filter(pk__in=pks).update(near_dup_cluster=root)
    return len(by_root)
