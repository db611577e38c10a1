"""manage.py score --project SLUG --scorer NAME: score every response with a scorer (DESIGN 6.2)."""

from __future__ import annotations

import re
import time

from django.conf import settings
from django.core.management.base import CommandError
from tqdm import tqdm

from annotation.errors import DomainError
from annotation.management.base import TrenchcoatCommand
from annotation.side_effects import QUEUE_UNREACHABLE
from scoring.backends import BackendError, revision_check
from scoring.core.probes import PROBES
from scoring.models import ScoringRun
from scoring.probe_runs import probe_run_chunk, probe_run_requeue, probes_wanted
from scoring.scorers import MODEL_BACKENDS, scorer_spec
from scoring.scoring_runs import (
    DEFAULT_CHUNK_SIZE,
    scorer_for_project,
    scoring_run_chunk,
    scoring_run_enqueue,
    scoring_run_start,
)

POLL_SECONDS = 1.0
# Waiting on a worker: a hint on stderr after this long without progress, and --stall-seconds
# (the default here: loading a large model on a GPU host takes minutes) ends the wait.
HINT_SECONDS = 30.0
STALL_SECONDS = 900
WORKER_HINT = (
    "is a worker consuming the `scoring` queue? (celery -A config worker -Q scoring; DESIGN 6.2)"
)


def _release(value: str | None) -> int | None:
    if value is None:
        return None
    match = re.fullmatch(r"v?(\d+)", value.strip())
    if not match:
        raise CommandError(f"--release {value}: give a version such as v3")
    return int(match.group(1))


class Command(TrenchcoatCommand):
    help = (
        "Score every response of a project (or of one release) with a registered scorer. "
        "Resumes an unfinished run of the same scorer revision. By default the chunks go to the "
        "`scoring` queue and this command shows the run's progress until it ends; "
        "--foreground scores here, in this process. Once the run is done, its spurious-feature "
        "probes are scored the same way (on a finished run whose probes are missing or failed, "
        "only they are)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--project", required=True, metavar="SLUG")
        parser.add_argument("--scorer", required=True, metavar="NAME")
        parser.add_argument(
            "--release", metavar="vN", help="score only the responses of this release"
        )
        parser.add_argument(
            "--foreground", action="store_true", help="score in this process, not on a worker"
        )
        parser.add_argument(
            "--detach", action="store_true", help="queue the chunks and return without waiting"
        )
        parser.add_argument(
            "--stall-seconds",
            type=float,
            default=STALL_SECONDS,
            help=(
                "stop waiting when the run has made no progress for this long (default "
                f"{STALL_SECONDS}); the run stays queued for the worker"
            ),
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            help=f"responses per chunk (default {DEFAULT_CHUNK_SIZE})",
        )
        super().add_arguments(parser)

    def run(self, **options):
        project = self.project(options["project"])
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1")
        if options["stall_seconds"] <= 0:
            raise CommandError("--stall-seconds must be more than 0")
        scorer = scorer_for_project(project=project, name=options["scorer"])
        foreground = options["foreground"] or settings.CELERY_TASK_ALWAYS_EAGER
        if foreground and scorer.backend in MODEL_BACKENDS:
            # The worker checks when it loads the model; a model cached in this process
            # would not be loaded again, so check the files here.
            try:
                revision_check(scorer_spec(scorer))
            except BackendError as exc:
                raise DomainError(str(exc)) from None
        run, outcome = scoring_run_start(
            project=project,
            scorer=scorer,
            release_version=_release(options["release"]),
            chunk_size=options["chunk_size"],
        )
        bar = tqdm(
            total=run.total,
            initial=run.scored,
            desc=f"scoring with {scorer.name}",
            unit=" responses",
            disable=options["json"] or None,
            file=self.stderr._out,
        )
        finished_before = run.status == ScoringRun.Status.DONE
        if outcome != "up_to_date" and not finished_before:
            if foreground:
                for index in range(len(run.chunks)):
                    scoring_run_chunk(run_id=run.pk, index=index)
                    run.refresh_from_db()
                    self._progress(bar, run)
                    if run.status == ScoringRun.Status.FAILED:
                        break
            else:
                scoring_run_enqueue(run)
                watch = _Stall(options["stall_seconds"], self.stderr)
                while not options["detach"] and run.status not in (
                    ScoringRun.Status.DONE,
                    ScoringRun.Status.FAILED,
                ):
                    time.sleep(POLL_SECONDS)  # the worker commits per chunk: poll the row
                    run.refresh_from_db()
                    self._progress(bar, run)
                    watch.check((run.status, run.scored), f"scoring run {run.pk}", bar)
        bar.close()
        run.refresh_from_db()
        if run.status == ScoringRun.Status.FAILED:
            raise DomainError(f"scoring run {run.pk} failed: {run.error.splitlines()[0]}")
        if probes_wanted(run):
            # A run the worker just finished has its probe chunk queued by its last chunk.
            queue = outcome == "up_to_date" or finished_before
            self._probes(run, foreground=foreground, queue=queue, options=options)
            run.refresh_from_db()
        return _summary(run, outcome)

    def _probes(self, run: ScoringRun, *, foreground: bool, queue: bool, options: dict) -> None:
        """Score the run's probes here, or on the worker (queued here when no chunk of this
        command queued them), showing their progress until they end unless --detach. A
        probe failure is reported, not raised: the run's own scores are done."""
        bar = tqdm(
            total=len(PROBES) * min(run.probe_sample, run.scored),
            initial=run.probe_scores.count(),
            desc=f"probing with {run.scorer.name}",
            unit=" perturbed responses",
            disable=options["json"] or None,
            file=self.stderr._out,
        )
        if foreground:
            probe_run_chunk(run_id=run.pk)
        elif queue and not probe_run_requeue(run):
            self.stderr.write(
                f"could not queue the probes of scoring run {run.pk}: {QUEUE_UNREACHABLE}; "
                "run this command again once it is back, or with --foreground"
            )
        else:
            watch = _Stall(options["stall_seconds"], self.stderr)
            while not options["detach"] and run.probe_status in (
                ScoringRun.ProbeStatus.PENDING,
                ScoringRun.ProbeStatus.RUNNING,
            ):
                time.sleep(POLL_SECONDS)  # the worker commits the probes at once: poll the row
                run.refresh_from_db()
                watch.check(run.probe_status, f"the probes of scoring run {run.pk}", bar)
        bar.update(run.probe_scores.count() - bar.n)
        bar.close()

    @staticmethod
    def _progress(bar: tqdm, run: ScoringRun) -> None:
        bar.update(run.scored - bar.n)
        if run.tokens_per_s:
            bar.set_postfix_str(f"{run.tokens_per_s:,.0f} tokens/s")

    def render(self, result) -> None:
        rate = f", {result['tokens_per_s']:,.0f} tokens/s" if result["tokens_per_s"] else ""
        self.stdout.write(
            f"Scoring run {result['run_id']} ({result['outcome']}): {result['scorer']} on "
            f"{result['project']}: {result['scored']}/{result['total']} responses "
            f"{result['status']}, {result['tokens']} tokens{rate}, "
            f"{result['truncated']} truncated, on {result['device'] or '-'} {result['dtype']}"
        )
        probes = result["probes"]
        error = f": {probes['error'].splitlines()[0]}" if probes["error"] else ""
        self.stdout.write(
            f"Probes ({', '.join(PROBES)}): {probes['status']}, {probes['scored']} perturbed "
            f"responses scored, sample of {probes['sample']}{error}"
        )


class _Stall:
    """Watches a queued run for progress: one hint on stderr after HINT_SECONDS without any,
    and a DomainError (exit 1, the run left queued) after ``limit`` seconds without any."""

    def __init__(self, limit: float, stderr) -> None:
        self.limit, self.stderr = limit, stderr
        self.state: object = None
        self.since = time.monotonic()
        self.hinted = False

    def check(self, state: object, what: str, bar: tqdm) -> None:
        now = time.monotonic()
        if state != self.state:
            self.state, self.since = state, now
            return
        idle = now - self.since
        if idle >= self.limit:
            bar.close()
            raise DomainError(
                f"{what}: no progress in {self.limit:g} s; {WORKER_HINT} The run stays queued "
                "and continues when a worker takes it: run this command again to watch it, or "
                "with --foreground to score here."
            )
        if idle >= HINT_SECONDS and not self.hinted:
            self.hinted = True
            tqdm.write(
                f"{what}: waiting {idle:.0f} s for a worker; {WORKER_HINT}",
                file=getattr(self.stderr, "_out", self.stderr),
            )


def _summary(run: ScoringRun, outcome: str) -> dict:
    return {
        "run_id": run.pk,
        "outcome": outcome,
        "project": run.project.slug,
        "scorer": run.scorer.name,
        "scorer_revision": run.scorer_revision,
        "release": f"v{run.release_version}" if run.release_version else None,
        "status": run.status,
        "total": run.total,
        "scored": run.scored,
        "tokens": run.tokens,
        "truncated": run.truncated,
        "tokens_per_s": run.tokens_per_s,
        "device": run.device,
        "dtype": run.dtype,
        "versions": run.versions,
        "error": run.error,
        "probes": {
            "status": run.probe_status,
            "sample": run.probe_sample,
            "scored": run.probe_scores.count(),
            "error": run.probe_error,
        },
    }
