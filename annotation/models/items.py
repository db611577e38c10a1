from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from .projects import Domain, Project


class Prompt(models.Model):
    class Source(models.TextChoices):
        REAL_USER = "real_user", "Real user"
        EXPERT = "expert", "Expert-written"
        CURATED = "curated", "Curated"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="prompts")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="prompts")
    text = models.TextField()
    source = models.CharField(max_length=16, choices=Source.choices, default=Source.CURATED)
    external_id = models.CharField(max_length=200)
    # sha256 of the normalized text (NFKC, casefolded, whitespace collapsed).
    content_hash = models.CharField(max_length=64, db_index=True)
    # Prompts that are light paraphrases of each other share a cluster id: the pk of the
    # cluster's first prompt. Null means no near-duplicate is known. Splits keep clusters whole.
    near_dup_cluster = models.BigIntegerField(null=True, blank=True, db_index=True)
    # MinHash signature over word shingles (uint64 array as bytes) for clustering later imports.
    minhash = models.BinaryField(null=True, blank=True, editable=False)
    provenance = models.JSONField(default=dict, blank=True)
    import_batch = models.ForeignKey(
        "annotation.ImportBatch",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="prompts",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="prompt_external_id_unique_per_project"
            ),
        ]
        indexes = [models.Index(fields=["project", "domain"])]

    def __str__(self) -> str:
        return f"{self.external_id}: {self.text[:60]}"


class PromptBand(models.Model):
    """One LSH band key of a prompt's MinHash signature (``services.dedup.band_keys``), 25
    per prompt. An import finds its new prompts' near-duplicate candidates by looking their
    keys up in this index: measured on a 100,000-prompt project (benchmarks/growth.py),
    loading every stored signature into an in-memory LSH instead made an import of 2,000
    prompts grow with the prompts already stored."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="lsh_bands")
    key = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["project", "key"], name="promptband_project_key_idx")]

    def __str__(self) -> str:
        return f"LSH band {self.key} of prompt {self.prompt_id}"


RESPONSE_PROMPT_PROJECT_MESSAGE = (
    "This prompt belongs to another project. A response must be in its prompt's project: "
    "choose a prompt of the response's project, or change the response's project."
)


class Response(models.Model):
    class Origin(models.TextChoices):
        HUMAN = "human", "Human"
        MODEL = "model", "Model"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="responses")
    prompt = models.ForeignKey(Prompt, on_delete=models.CASCADE, related_name="responses")
    text = models.TextField()
    origin = models.CharField(max_length=8, choices=Origin.choices, default=Origin.MODEL)
    model_name = models.CharField(max_length=200, blank=True)
    external_id = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64, db_index=True)
    provenance = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["prompt", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "external_id"], name="response_external_id_unique_per_project"
            ),
        ]
        # The database refuses a response outside its prompt's project too, on every write
        # path (migration 0004_response_prompt_same_project); clean() says it in words first.

    def __str__(self) -> str:
        return f"{self.external_id}: {self.text[:60]}"

    def clean(self) -> None:
        super().clean()
        if self.prompt_id is None or self.project_id is None:
            return
        prompt_project_id = (
            Prompt.objects.filter(pk=self.prompt_id).values_list("project_id", flat=True).first()
        )
        if prompt_project_id is not None and prompt_project_id != self.project_id:
            raise ValidationError({"prompt": RESPONSE_PROMPT_PROJECT_MESSAGE})
