from __future__ import annotations

import zlib

import numpy as np
from django.db import models

from annotation.models import Project, Response


class AggregationRun(models.Model):
    """One immutable aggregation of a project's judgments (DESIGN 5).

    Runs are idempotent: the same judgments and config give identical numbers, and
    ``input_fingerprint`` (sha256 over the judgments and the config snapshot) says so.
    """

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        COMMAND = "command", "Management command"
        PAGE = "page", "Project page"
        API = "api", "API"
        AUTO = "auto", "Automatic (new judgments)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="aggregation_runs")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.COMMAND)
    config = models.JSONField(default=dict)
    counts = models.JSONField(default=dict)
    exclusions = models.JSONField(default=list)
    agreement = models.JSONField(default=dict)
    disputes = models.JSONField(default=list)
    tie_rule = models.JSONField(default=dict)
    # The Arena-style Bradley-Terry ranking of generator models (scoring.model_ranking);
    # {} on runs made before it was recorded.
    model_ranking = models.JSONField(default=dict, blank=True)
    input_fingerprint = models.CharField(max_length=64, blank=True)
    code_version = models.CharField(max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # The Celery task that made the run ("" outside a worker). A redelivery of the task
    # carries the same id, so it can tell the run its killed delivery left running.
    task_id = models.CharField(max_length=64, blank=True, default="", db_default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Exactly the judgments the run read, in one snapshot (ids_pack): releases of the run
    # export these and no others. An id cut-off cannot say this: ids are taken at insert
    # and rows commit in another order, so a lower id can commit after a higher one was
    # read. Null on runs made before the ids were recorded.
    likert_ids = models.BinaryField(null=True, blank=True, editable=False)
    pairwise_ids = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Run {self.pk} of {self.project} ({self.status})"

    def judgment_ids(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The sorted ids of the Likert and pairwise judgments the run read, or None for a
        run made before they were recorded."""
        if self.likert_ids is None or self.pairwise_ids is None:
            return None
        return ids_unpack(self.likert_ids), ids_unpack(self.pairwise_ids)


def ids_pack(ids: np.ndarray) -> bytes:
    """Sorted int64 ids as zlib-compressed little-endian deltas. Judgment ids are nearly
    consecutive, so 300,000 ids take 4 to 90 KB (gapless to one id in four missing) and
    about 0.1 s to pack (measured)."""
    ids = np.sort(np.asarray(ids, dtype=np.int64))
    return zlib.compress(np.diff(ids, prepend=0).astype("<i8").tobytes(), 6)


def ids_unpack(data: bytes | memoryview) -> np.ndarray:
    return np.cumsum(np.frombuffer(zlib.decompress(bytes(data)), dtype="<i8")).astype(np.int64)


class ResponseScore(models.Model):
    """One response's scores in one run."""

    class FinalSource(models.TextChoices):
        BLEND = "blend", "alpha * criterion_score + (1 - alpha) * borda"
        CRITERIA_ONLY = "criteria_only", "criterion_score (no pairwise data)"
        BORDA_ONLY = "borda_only", "borda (no Likert quorum)"

    run = models.ForeignKey(AggregationRun, on_delete=models.CASCADE, related_name="scores")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="scores")
    criterion_means = models.JSONField(default=dict)  # {criterion key: mean normalized score}
    criterion_score = models.FloatField(null=True, blank=True)
    borda = models.FloatField(null=True, blank=True)
    final = models.FloatField(null=True, blank=True)
    final_source = models.CharField(max_length=16, choices=FinalSource.choices, blank=True)
    n_likert = models.PositiveIntegerField(default=0)
    n_pairwise = models.PositiveIntegerField(default=0)
    pairwise_wins = models.PositiveIntegerField(default=0)
    rank = models.PositiveIntegerField(null=True, blank=True)  # 1 = best within its prompt
    flags = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "response"], name="one_score_per_response_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response_id} in run {self.run_id}: {self.final}"


class AutoAggregation(models.Model):
    """When an automatic run was last queued for the project: its debounce window.

    In the database, not the cache, so that the per-submission trigger, the periodic catch-up
    job and a second delivery of that job claim a window by compare-and-set and queue at most
    one run in it, and so that the window survives a Redis restart.
    """

    project = models.OneToOneField(
        Project, on_delete=models.CASCADE, primary_key=True, related_name="auto_aggregation"
    )
    queued_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.project_id}: automatic run queued at {self.queued_at}"


class Scorer(models.Model):
    """Something that gives a response a number, or a pair a verdict (DESIGN 6.1).

    A reward model or a local encoder is a directory on the worker's disk; ``revision`` is
    the sha256 over its files taken at registration, and the worker refuses to score with a
    directory whose files changed since (re-register with ``scorer_apply``).
    """

    class Kind(models.TextChoices):
        REWARD_MODEL = "reward_model", "Reward model (a sequence classifier with one output)"
        METRIC = "metric", "Metric (built in, or a local encoder)"
        JUDGE = "judge", "Judge (scores or verdicts produced elsewhere, imported)"

    class Backend(models.TextChoices):
        TRANSFORMERS = "transformers", "transformers (AutoModelForSequenceClassification)"
        VLLM = "vllm", "vLLM (pooling runner, GPU hosts)"
        BUILTIN = "builtin", "Built-in metric"
        EMBEDDING = "embedding", "sentence-transformers encoder"
        EXTERNAL = "external", "External (imported with import_scores)"

    class Dtype(models.TextChoices):
        AUTO = "auto", "auto (bf16 on CUDA, fp32 on CPU)"
        FLOAT32 = "float32", "float32"
        BFLOAT16 = "bfloat16", "bfloat16"
        FLOAT16 = "float16", "float16"

    class Bos(models.TextChoices):
        AUTO = (
            "auto",
            "as the chat template writes it (a template string: as the tokenizer adds it)",
        )
        ADD = "add", "exactly one BOS at the start"
        STRIP = "strip", "no BOS"

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    backend = models.CharField(max_length=16, choices=Backend.choices)
    # builtin: length_chars | length_words | markdown_density; embedding: embedding_relevance.
    metric = models.CharField(max_length=40, blank=True)
    # Null: every project may use it (staff manage it); else the project whose leads own it.
    project = models.ForeignKey(
        Project, null=True, blank=True, on_delete=models.CASCADE, related_name="scorers"
    )
    model_path = models.CharField(max_length=500, blank=True)
    revision = models.CharField(max_length=64, blank=True)
    dtype = models.CharField(max_length=16, choices=Dtype.choices, default=Dtype.AUTO)
    max_length = models.PositiveIntegerField(default=4096)
    # Padded tokens per batch (batch size x longest input in it).
    batch_tokens = models.PositiveIntegerField(default=16384)
    # Empty: the tokenizer's chat template. Else a string with {prompt}, {response}, {system}.
    template = models.TextField(blank=True)
    system_prompt = models.TextField(blank=True)
    bos = models.CharField(max_length=8, choices=Bos.choices, default=Bos.AUTO)
    higher_is_better = models.BooleanField(default=True)
    description = models.TextField(blank=True)
    licence = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ScoringRun(models.Model):
    """One scorer over a project's responses (all, or those of one release) (DESIGN 6.2).

    Work is cut into chunks of response ids (``chunks``: [[first id, last id], ...]); each
    chunk commits its scores in one transaction and skips what is stored, so a redelivered
    chunk or a rerun resumes and no response is scored twice.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        COMMAND = "command", "Management command"
        PAGE = "page", "Project page"
        API = "api", "API"
        IMPORT = "import", "import_scores"

    class ProbeStatus(models.TextChoices):
        PENDING = "pending", "Waiting for the run's scores"
        RUNNING = "running", "Scoring perturbed responses"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        NOT_APPLICABLE = "n/a", "Not applicable (imported scores or verdicts)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="scoring_runs")
    scorer = models.ForeignKey(Scorer, on_delete=models.PROTECT, related_name="runs")
    scorer_revision = models.CharField(max_length=64, blank=True)
    release_version = models.PositiveIntegerField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    trigger = models.CharField(max_length=16, choices=Trigger.choices, default=Trigger.COMMAND)
    chunks = models.JSONField(default=list, blank=True)
    total = models.PositiveIntegerField(default=0)
    scored = models.PositiveIntegerField(default=0)
    tokens = models.BigIntegerField(default=0)
    truncated = models.PositiveIntegerField(default=0)
    tokens_per_s = models.FloatField(null=True, blank=True)
    compute_seconds = models.FloatField(default=0.0)
    device = models.CharField(max_length=100, blank=True)
    dtype = models.CharField(max_length=16, blank=True)
    versions = models.JSONField(default=dict, blank=True)  # torch, transformers, vllm, ...
    code_version = models.CharField(max_length=64, blank=True)
    # import_scores: sha256 of the imported file (a re-import of it changes nothing).
    input_fingerprint = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    # Spurious-feature probes (DESIGN 6.4), scored after the run's chunks by a probe chunk.
    probe_status = models.CharField(
        max_length=16, choices=ProbeStatus.choices, default=ProbeStatus.PENDING
    )
    probe_sample = models.PositiveIntegerField(default=200)  # responses perturbed per probe
    probe_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Scoring run {self.pk}: {self.scorer} on {self.project} ({self.status})"


class ScorerScore(models.Model):
    """One response's raw score in one scoring run (a logit, never a sigmoid)."""

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="scores")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="scorer_scores")
    score = models.FloatField()
    tokens = models.PositiveIntegerField(default=0)
    truncated = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "response"], name="one_scorer_score_per_run"),
        ]

    def __str__(self) -> str:
        return f"{self.response_id} in scoring run {self.run_id}: {self.score}"


class ScorerVerdict(models.Model):
    """A judge's verdict on one pair of responses of a prompt, imported (DESIGN 6.1)."""

    class Choice(models.TextChoices):
        A = "a", "a is better"
        B = "b", "b is better"
        TIE = "tie", "tie"

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="verdicts")
    response_a = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    response_b = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    choice = models.CharField(max_length=4, choices=Choice.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "response_a", "response_b"], name="one_verdict_per_pair_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.response_a_id} vs {self.response_b_id}: {self.choice}"


class ProbeScore(models.Model):
    """A scorer's score of one perturbed response (DESIGN 6.4), stored apart from real ones.

    The perturbed text is never stored, shown to annotators or released: it is rebuilt from
    the response, the probe name and the run's seed (``scoring.core.probes``) when needed.
    """

    class Probe(models.TextChoices):
        PAD = "pad", "pad: filler restating the prompt, about +50% length"
        MARKDOWN = "markdown", "markdown: the same sentences as a list under a heading"
        FLATTERY = "flattery", "flattery: a confident, flattering opening"
        TRUNCATE = "truncate", "truncate: the second half dropped"

    run = models.ForeignKey(ScoringRun, on_delete=models.CASCADE, related_name="probe_scores")
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="+")
    probe = models.CharField(max_length=16, choices=Probe.choices)
    score = models.FloatField()
    tokens = models.PositiveIntegerField(default=0)
    truncated = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "response", "probe"], name="one_probe_score_per_run"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.probe} of {self.response_id} in scoring run {self.run_id}: {self.score}"


class MetaEvaluation(models.Model):
    """One scoring run measured against one aggregation run's humans (DESIGN 6.3).

    ``figures`` holds every figure with its CI (the document ``manage.py metaeval --json``
    prints; its layout is described in ``scoring.metaeval``). Computed on the `aggregate`
    queue when either side finishes; recomputing the same pair replaces the record in
    place, so a redelivered task changes nothing.
    """

    class Status(models.TextChoices):
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="metaevaluations")
    scoring_run = models.ForeignKey(
        ScoringRun, on_delete=models.CASCADE, related_name="metaevaluations"
    )
    aggregation_run = models.ForeignKey(
        AggregationRun, on_delete=models.CASCADE, related_name="metaevaluations"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DONE)
    figures = models.JSONField(default=dict)
    config = models.JSONField(default=dict)  # seed, resamples, sides, epsilon, temperature
    counts = models.JSONField(default=dict)  # pairs used and left out, and why
    code_version = models.CharField(max_length=64, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["scoring_run", "aggregation_run"], name="one_metaeval_per_run_pair"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"Meta-evaluation of scoring run {self.scoring_run_id} on run {self.aggregation_run_id}"
        )


class NoiseCeiling(models.Model):
    """The human noise ceiling of one aggregation run (DESIGN 6.3), the leaderboard's
    reference row: it depends on the humans only, so it is computed once per run."""

    aggregation_run = models.OneToOneField(
        AggregationRun, on_delete=models.CASCADE, primary_key=True, related_name="noise_ceiling"
    )
    figures = models.JSONField(default=dict)
    code_version = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Noise ceiling of run {self.aggregation_run_id}"
