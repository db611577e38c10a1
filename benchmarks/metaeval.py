"""Meta-evaluation benchmark (issue 10, DESIGN 6.3 and 9): 10 scorers over a generated
15,000-prompt project (45,000 responses, 3 per prompt), every figure with 1000-resample
bootstrap CIs, against a loop that recomputes each statistic per resample.

    SECRET_KEY=x TRENCHCOAT_PSEUDONYM_SALT=y bin/with-test-services .venv/bin/python benchmarks/metaeval.py

Data (generated with bulk_create, not timed): 15,000 prompts in 4 domains, 3 responses each
from 5 generator models, 3 Likert judgments per response (4 criteria) and 3 pairwise votes
on each of a prompt's 3 pairs (135,000 of each), aggregated by ``aggregation_run_create``
(so finals, score-derived pairs and voted pairs exist), then 10 finished scoring runs with a
score per response and 200 probe responses each: a good reward model, four noisier ones,
an overconfident one, ``length_chars``, a length-hacked one, a constant-ish one (95% ties)
and a lower-is-better one.

Timed in a fresh process (so that its peak RSS is the meta-evaluation's, not the data
generation's): (a) ``humans_read`` of the aggregation run, once; the noise ceiling, once;
(b) ``metaeval_compute`` of each scorer with the shared humans (reads its scores, computes
every figure with 1000-resample CIs, writes its record); then (c) ``manage.py metaeval
--project SLUG`` as its own process, end to end.

Baseline, measured in the same run on fewer resamples and scaled (``--loop-resamples``,
default 50): for one scorer, per resample take the drawn prompts (the first rows of the
same resample-weight matrix: prompt p drawn k times is copied k times as k distinct
prompts), rebuild the resampled responses and pairs, and recompute every figure with
``n_resamples=0`` (epsilon, temperature and isotonic fits included, as a plain loop over
the figure code would); then scale to 1000 resamples + the point estimate and to 10
scorers. Because both use the same resamples, the vectorized CI over those rows must equal
the loop's percentile interval: checked to 1e-12 on the figures whose statistic is the
same in both (the fitted ones are refitted per resample by the loop, fixed by design in
the vectorized path).

``--profile`` adds a cProfile of (b) (top functions by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import io
import json
import os
import platform
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import django_setup  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SLUG = "bench-metaeval"
PER_PROMPT, RATINGS, VOTES, N_ANNOTATORS, N_RESAMPLES = 3, 3, 3, 60, 1000
GENERATORS = ("gen-a", "gen-b", "gen-c", "gen-d", "gen-e")
DOMAINS = ("code", "math", "writing", "safety")
PROBE_SAMPLE = 200
# The target, "a few seconds for all 10 scorers, and far faster than the loop",
# read as: under 10 s, and at least 25x (the bar DESIGN 9 sets for the agreement bootstrap).
TARGET_SECONDS, TARGET_RATIO, TARGET_EQUAL = 10.0, 25.0, 1e-12


def maxrss_mib() -> float:
    """This process's peak RSS. VmHWM, not getrusage's ru_maxrss: a child process inherits
    its parent's peak in ru_maxrss across fork and exec (Linux), and the parent here holds
    the generated data."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- Data ---------------------------------------------------------------------------------


def generate(n_prompts: int) -> None:
    """The project, its judgments and a finished aggregation run (not timed)."""
    from annotation.models import (
        Annotator,
        LikertJudgment,
        PairwiseJudgment,
        Project,
        Prompt,
        Response,
    )
    from annotation.services.projects import project_create

    if Project.objects.filter(slug=SLUG).exists():
        sys.exit(f"the database has a project '{SLUG}' already: use a fresh one, or --reuse")
    project = project_create(
        slug=SLUG,
        name="Meta-evaluation benchmark",
        domains=[{"name": d} for d in DOMAINS],
        likert_quorum=RATINGS,
        pairwise_quorum=VOTES,
    )
    domains = list(project.domains.order_by("name"))
    keys = [c.key for c in project.criteria.order_by("position")]
    annotators = Annotator.objects.bulk_create(
        [Annotator(project=project, external_id=f"bench-{i}") for i in range(N_ANNOTATORS)]
    )
    rng = np.random.default_rng(10)
    t0 = time.perf_counter()
    for start in range(0, n_prompts, 1000):
        stop = min(start + 1000, n_prompts)
        prompts = Prompt.objects.bulk_create(
            [
                Prompt(
                    project=project,
                    domain=domains[i % len(domains)],
                    text=f"Prompt {i}: how do I do thing {i}?",
                    external_id=f"p{i}",
                    content_hash=f"{i:064d}",
                )
                for i in range(start, stop)
            ]
        )
        n = len(prompts) * PER_PROMPT
        words = rng.integers(5, 300, n)
        responses = Response.objects.bulk_create(
            [
                Response(
                    project=project,
                    prompt=p,
                    text=f"Answer {k} to {p.external_id}. " + "lorem ipsum " * int(words[j]),
                    model_name=GENERATORS[int(rng.integers(0, len(GENERATORS)))],
                    external_id=f"{p.external_id}-{k}",
                    content_hash=f"{p.pk}-{k}",
                )
                for j, (p, k) in enumerate((p, k) for p in prompts for k in range(PER_PROMPT))
            ]
        )
        # What the humans like: a latent quality, and a little length (as humans do).
        utility = rng.normal(0, 1, n) + 0.3 * (words - 150) / 85
        likert = []
        for r, u in zip(responses, utility, strict=True):
            for a in rng.choice(N_ANNOTATORS, RATINGS, replace=False):
                values = np.clip(np.rint(3 + u + rng.normal(0, 0.8, len(keys))), 1, 5)
                likert.append(
                    LikertJudgment(
                        response=r,
                        annotator=annotators[a],
                        ratings=dict(zip(keys, values.astype(int).tolist(), strict=True)),
                    )
                )
        LikertJudgment.objects.bulk_create(likert, batch_size=5000)
        pairwise = []
        for j, p in enumerate(prompts):
            for x, y in ((0, 1), (0, 2), (1, 2)):
                a, b = responses[j * PER_PROMPT + x], responses[j * PER_PROMPT + y]
                p_a = 1 / (
                    1 + np.exp(-1.5 * (utility[j * PER_PROMPT + x] - utility[j * PER_PROMPT + y]))
                )
                for ann in rng.choice(N_ANNOTATORS, VOTES, replace=False):
                    left, right = (a, b) if rng.random() < 0.5 else (b, a)
                    if rng.random() < 0.1:
                        choice = "tie"
                    else:
                        winner = a if rng.random() < p_a else b
                        choice = "left" if winner is left else "right"
                    pairwise.append(
                        PairwiseJudgment(
                            prompt=p,
                            left=left,
                            right=right,
                            response_a=a,
                            response_b=b,
                            annotator=annotators[ann],
                            choice=choice,
                        )
                    )
        PairwiseJudgment.objects.bulk_create(pairwise, batch_size=5000)
        print(f"  generated {stop:,} prompts ({time.perf_counter() - t0:.0f} s)", end="\r")
    print()


SCORERS = (
    # name, kind, higher_is_better, description
    ("rm-good", "reward_model", True, "utility + N(0, 0.3)"),
    ("rm-noisy-0.6", "reward_model", True, "utility + N(0, 0.6)"),
    ("rm-noisy-1.0", "reward_model", True, "utility + N(0, 1.0)"),
    ("rm-noisy-1.5", "reward_model", True, "utility + N(0, 1.5)"),
    ("rm-noisy-2.5", "reward_model", True, "utility + N(0, 2.5)"),
    ("rm-overconfident", "reward_model", True, "8 x (utility + N(0, 0.6))"),
    ("length-chars", "metric", True, "length in characters"),
    ("rm-length-hacked", "reward_model", True, "0.3 utility + length z-score + N(0, 0.5)"),
    ("constant-ish", "metric", True, "0 for 95% of responses, N(0, 1) for the rest"),
    ("distance-lower", "metric", False, "-utility + N(0, 1), lower is better"),
)


def scorers_create() -> None:
    """10 finished scoring runs with one score per response and 200 probe responses each,
    computed from the humans' finals and the lengths (so they agree in varied degrees)."""
    from django.utils import timezone

    from annotation.models import Project, Response
    from scoring.models import ProbeScore, Scorer, ScorerScore, ScoringRun

    project = Project.objects.get(slug=SLUG)
    rows = list(
        Response.objects.filter(project=project)
        .order_by("id")
        .values_list("id", "text", "scores__final")
    )
    ids = np.array([r[0] for r in rows])
    length = np.array([len(r[1]) for r in rows], dtype=np.float64)
    final = np.array([np.nan if r[2] is None else r[2] for r in rows], dtype=np.float64)
    utility = (np.nan_to_num(final, nan=np.nanmean(final)) - np.nanmean(final)) / np.nanstd(final)
    z_len = (length - length.mean()) / length.std()
    rng = np.random.default_rng(11)
    n = ids.size
    values = {
        "rm-good": utility + rng.normal(0, 0.3, n),
        "rm-noisy-0.6": utility + rng.normal(0, 0.6, n),
        "rm-noisy-1.0": utility + rng.normal(0, 1.0, n),
        "rm-noisy-1.5": utility + rng.normal(0, 1.5, n),
        "rm-noisy-2.5": utility + rng.normal(0, 2.5, n),
        "rm-overconfident": 8 * (utility + rng.normal(0, 0.6, n)),
        "length-chars": length,
        "rm-length-hacked": 0.3 * utility + z_len + rng.normal(0, 0.5, n),
        "constant-ish": np.where(rng.random(n) < 0.95, 0.0, rng.normal(0, 1, n)),
        "distance-lower": -utility + rng.normal(0, 1.0, n),
    }
    probe_sample = rng.choice(n, PROBE_SAMPLE, replace=False)
    for name, kind, hib, description in SCORERS:
        scorer = Scorer.objects.create(
            name=name,
            kind=kind,
            backend=Scorer.Backend.EXTERNAL,
            project=project,
            higher_is_better=hib,
            description=f"benchmark: {description}",
        )
        run = ScoringRun.objects.create(
            project=project,
            scorer=scorer,
            status=ScoringRun.Status.DONE,
            trigger=ScoringRun.Trigger.IMPORT,
            total=n,
            scored=n,
            probe_status=ScoringRun.ProbeStatus.DONE,
            finished_at=timezone.now(),
        )
        s = values[name]
        ScorerScore.objects.bulk_create(
            [
                ScorerScore(run=run, response_id=int(i), score=float(v))
                for i, v in zip(ids, s, strict=True)
            ],
            batch_size=10_000,
        )
        # Probe scores: length_chars as the probes would measure it; the others move with
        # how much they follow length, plus noise.
        k = probe_sample
        sign = 1.0 if hib else -1.0
        follows_length = {"length-chars": 1.0, "rm-length-hacked": 1.0}.get(name, 0.1)
        if name == "length-chars":
            perturbed = {
                "pad": length[k] * 1.5,
                "markdown": length[k] + 12,
                "flattery": length[k] + 52,
                "truncate": length[k] / 2,
            }
        else:
            spread = np.std(s) or 1.0
            perturbed = {
                "pad": s[k] + sign * spread * (0.5 * follows_length + rng.normal(0, 0.2, k.size)),
                "markdown": s[k] + sign * spread * rng.normal(0.05, 0.2, k.size),
                "flattery": s[k] + sign * spread * rng.normal(0.02, 0.2, k.size),
                "truncate": s[k] - sign * spread * (0.3 + rng.normal(0, 0.2, k.size)),
            }
        ProbeScore.objects.bulk_create(
            [
                ProbeScore(run=run, response_id=int(ids[j]), probe=probe, score=float(v))
                for probe, scores in perturbed.items()
                for j, v in zip(k, scores, strict=True)
            ]
        )


# --- The baseline: a loop over resamples ------------------------------------------------


def resampled(humans, counts: np.ndarray, scores: np.ndarray):
    """The humans and scores of one resample of prompts: prompt p drawn counts[p] times is
    copied that many times, each copy a distinct prompt (as the weight matrix counts it)."""
    from scoring.core import metaeval as me

    uniq = humans.resampler.prompt_ids
    n_p = uniq.size
    src = np.repeat(np.arange(n_p), counts.astype(np.int64))  # original prompt of each copy
    copies = src.size

    def layout(prompt_ids: np.ndarray):
        """CSR of rows by prompt: (row order, start and count per prompt, rank in prompt)."""
        p = np.searchsorted(uniq, prompt_ids)
        order = np.argsort(p, kind="stable")
        size = np.bincount(p, minlength=n_p)
        start = np.cumsum(size) - size
        rank = np.empty(p.size, dtype=np.int64)
        rank[order] = np.arange(p.size) - start[p[order]]
        return order, start, size, rank

    def pick(order, start, size):
        lens = size[src]
        block = np.cumsum(lens) - lens
        within = np.arange(lens.sum()) - np.repeat(block, lens)
        return (
            order[np.repeat(start[src], lens) + within],
            np.repeat(np.arange(copies), lens),
            block,
        )

    r_order, r_start, r_size, r_rank = layout(humans.prompt)
    sel, new_prompt, r_block = pick(r_order, r_start, r_size)

    def pairs_of(pairs):
        order, start, size, _ = layout(pairs.prompt)
        chosen, copy, _ = pick(order, start, size)
        return me.Pairs(
            kind=pairs.kind,
            prompt=copy,
            a=r_block[copy] + r_rank[pairs.a[chosen]],
            b=r_block[copy] + r_rank[pairs.b[chosen]],
            label=pairs.label[chosen],
            share_a=pairs.share_a[chosen],
            excluded=pairs.excluded,
        )

    on_cal = np.isin(uniq[src], humans.calibration_prompt)
    h = dataclasses.replace(
        humans,
        response_ids=humans.response_ids[sel],
        prompt=new_prompt,
        domain=humans.domain[sel],
        generator=humans.generator[sel],
        length=humans.length[sel],
        final=humans.final[sel],
        criteria={k: v[sel] for k, v in humans.criteria.items()},
        voted=pairs_of(humans.voted),
        derived=pairs_of(humans.derived),
        calibration_prompt=np.flatnonzero(on_cal),
        resampler=None,
        n_resamples=0,
    )
    return h, scores[sel]


def figures_once(h, scores: np.ndarray, hib: bool, probes) -> dict:
    """Every figure of a scorer with scores, without CIs: the score branch of
    ``scorer_figures`` (pairs, acc_eq, calibration, length, breakdowns, correlations,
    system level, tau by group) and the probe effects."""
    from scoring.core import metaeval as me
    from scoring.core.probes import probe_effects
    from scoring.metaevaluations.figures import _pair_figures

    kw = {"higher_is_better": hib, "rng": None, "n_resamples": 0}
    out = {
        kind: _pair_figures(
            h, pairs, h.calibration_prompt, scores=scores, verdicts=None, higher_is_better=hib
        )
        for kind, pairs in (("voted", h.voted), ("derived", h.derived))
    }
    out["final"] = me.correlations(h.prompt, scores, h.final, **kw)
    out["criteria"] = {k: me.correlations(h.prompt, scores, v, **kw) for k, v in h.criteria.items()}
    out["system"] = me.system_correlations(h.prompt, h.generator, scores, h.final, **kw)
    out["rho_length"] = me.length_correlation(scores, h.length, higher_is_better=hib)
    out["tau_domain"] = me.tau_by_group(
        h.prompt, scores, h.final, h.domain, per_prompt_groups=True, **kw
    )
    out["tau_generator"] = me.tau_by_group(
        h.prompt, scores, h.final, h.generator, per_prompt_groups=False, **kw
    )
    original, perturbed = probes
    out["probes"] = probe_effects(original, perturbed, higher_is_better=hib, rng=None)
    return out


def compared(figs: dict) -> dict[str, float]:
    """The figures whose statistic is the same in the loop and the vectorized path."""

    def v(est) -> float:
        value = est["value"] if isinstance(est, dict) else est.value
        return np.nan if value is None else float(value)

    return {
        "voted accuracy": v(figs["voted"]["accuracy"]),
        "derived accuracy": v(figs["derived"]["accuracy"]),
        "voted accuracy, domain code": v(figs["voted"]["by_domain"]["code"]),
        "P(humans prefer longer)": v(figs["voted"]["length"]["humans_prefer_longer"]),
        "P(scorer prefers longer)": v(figs["voted"]["length"]["scorer_prefers_longer"]),
        "tau_b per prompt (final)": v(figs["tau"]),
        "rho per prompt (final)": v(figs["rho"]),
        "system-level Pearson": v(figs["pearson"]),
    }


def loop_baseline(humans, run, n_resamples: int) -> tuple[float, dict[str, np.ndarray]]:
    """The loop: the point estimate and ``n_resamples`` resamples, every figure each time."""
    from scoring.core.probes import PROBES
    from scoring.metaevaluations.figures import _scores_of
    from scoring.models import ProbeScore

    scores, originals = _scores_of(humans, run)
    rows = list(ProbeScore.objects.filter(run=run).values_list("response_id", "probe", "score"))
    probe_ids = sorted({r[0] for r in rows})
    index = {rid: k for k, rid in enumerate(probe_ids)}
    original = np.array([originals[rid] for rid in probe_ids])
    perturbed = {p: np.full(len(probe_ids), np.nan) for p in PROBES}
    for rid, probe, score in rows:
        perturbed[probe][index[rid]] = score
    hib = run.scorer.higher_is_better
    rng = np.random.default_rng(0)
    weights = humans.resampler.weights[:n_resamples]
    samples: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for b in range(-1, n_resamples):
        counts = np.ones(weights.shape[1]) if b < 0 else weights[b]
        h, s = resampled(humans, counts, scores)
        k = rng.integers(0, original.size, original.size)
        figs = figures_once(h, s, hib, (original[k], {p: v[k] for p, v in perturbed.items()}))
        flat = {
            "voted": {
                "accuracy": figs["voted"]["accuracy"],
                "by_domain": figs["voted"]["by_domain"],
                "length": figs["voted"]["length"],
            },
            "derived": figs["derived"],
            "tau": figs["final"].tau_prompt,
            "rho": figs["final"].rho_prompt,
            "pearson": figs["system"].pearson,
        }
        if b >= 0:
            for key, value in compared(flat).items():
                samples.setdefault(key, []).append(value)
    return time.perf_counter() - t0, {k: np.array(v) for k, v in samples.items()}


# --- The measuring process ----------------------------------------------------------------


def measure(loop_resamples: int, profile: bool) -> dict:
    from annotation.models import Project
    from scoring.core.bootstrap import percentile_ci
    from scoring.core.metaeval import Resampler
    from scoring.metaevaluations import (
        humans_read,
        latest_aggregation_run,
        latest_scoring_runs,
        metaeval_compute,
        noise_ceiling_get_or_create,
        scorer_figures,
    )

    out: dict = {"rss_start_mib": maxrss_mib()}
    project = Project.objects.get(slug=SLUG)
    aggregation = latest_aggregation_run(project.pk)
    runs = latest_scoring_runs(project.pk)

    t0 = time.perf_counter()
    humans = humans_read(aggregation, n_resamples=N_RESAMPLES)
    out["humans_read_s"] = time.perf_counter() - t0
    out["rss_humans_mib"] = maxrss_mib()
    out["counts"] = {
        "responses": int(humans.response_ids.size),
        "prompts": int(humans.resampler.prompt_ids.size),
        "voted_pairs": len(humans.voted),
        "voted_excluded": int(humans.voted.excluded),
        "derived_pairs": len(humans.derived),
        "votes": int(humans.votes[0].size),
        "likert": int(humans.likert[0].size),
    }
    t0 = time.perf_counter()
    noise_ceiling_get_or_create(humans)
    out["ceiling_s"] = time.perf_counter() - t0

    profiler = cProfile.Profile() if profile else None
    per_scorer = []
    t_all = time.perf_counter()
    for run in runs:
        t0 = time.perf_counter()
        if profiler:
            profiler.enable()
        record = metaeval_compute(scoring_run=run, aggregation_run=aggregation, humans=humans)
        if profiler:
            profiler.disable()
        h = record.figures["headline"]
        per_scorer.append(
            {
                "scorer": run.scorer.name,
                "seconds": time.perf_counter() - t0,
                "accuracy": h["accuracy"],
                "tau": h["tau_prompt"],
                "ece": h["ece"],
                "longer": h["prefers_longer"],
            }
        )
    out["scorers_s"] = time.perf_counter() - t_all
    out["per_scorer"] = per_scorer
    out["rss_scorers_mib"] = maxrss_mib()
    if profiler:
        buf = io.StringIO()
        pstats.Stats(profiler, stream=buf).sort_stats("tottime").print_stats(18)
        out["profile"] = buf.getvalue()

    # Python-traced allocations (numpy arrays included) of one scorer's figures.
    good = next(r for r in runs if r.scorer.name == "rm-good")
    tracemalloc.start()
    scorer_figures(humans, good)
    out["traced_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    # The baseline, and the equality of its CIs with the vectorized ones on its resamples.
    loop_s, samples = loop_baseline(humans, good, loop_resamples)
    out["loop_s"] = loop_s
    subset = dataclasses.replace(
        humans,
        resampler=Resampler(
            prompt_ids=humans.resampler.prompt_ids,
            weights=humans.resampler.weights[:loop_resamples],
        ),
        n_resamples=loop_resamples,
    )
    figs = scorer_figures(subset, good)[0]
    ours = {
        "voted": figs["voted"],
        "derived": figs["derived"],
        "tau": figs["correlation"]["final"]["tau_prompt"],
        "rho": figs["correlation"]["final"]["rho_prompt"],
        "pearson": figs["correlation"]["system"]["pearson"],
    }
    names = compared(ours).keys()
    checks = []

    def cis(fig: dict, key: str) -> dict:
        blocks = {
            "voted accuracy": fig["voted"]["accuracy"],
            "derived accuracy": fig["derived"]["accuracy"],
            "voted accuracy, domain code": fig["voted"]["by_domain"]["code"],
            "P(humans prefer longer)": fig["voted"]["length"]["humans_prefer_longer"],
            "P(scorer prefers longer)": fig["voted"]["length"]["scorer_prefers_longer"],
            "tau_b per prompt (final)": fig["tau"],
            "rho per prompt (final)": fig["rho"],
            "system-level Pearson": fig["pearson"],
        }
        return blocks[key]

    for key in names:
        est = cis(ours, key)
        low, high = percentile_ci(samples[key])
        diff = max(abs(est["ci_low"] - low), abs(est["ci_high"] - high))
        checks.append({"figure": key, "ours": [est["ci_low"], est["ci_high"]], "diff": diff})
    out["equality"] = checks
    out["rss_end_mib"] = maxrss_mib()
    return out


# ``manage.py metaeval`` in its own interpreter, writing its peak RSS to a file at exit.
COMMAND = """
import atexit, runpy, sys
sys.path.insert(0, {root!r})
from metaeval import maxrss_mib
atexit.register(lambda: open({out!r}, "w").write(str(maxrss_mib())))
sys.argv = ["manage.py", "metaeval", "--project", {slug!r}]
runpy.run_path({manage!r}, run_name="__main__")
"""


def command_run() -> tuple[float, float, str]:
    """``manage.py metaeval --project SLUG`` as its own process: (wall s, peak RSS MiB, table)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rss"
        code = COMMAND.format(
            root=str(Path(__file__).resolve().parent),
            out=str(out),
            slug=SLUG,
            manage=str(ROOT / "manage.py"),
        )
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        seconds = time.perf_counter() - started
        if proc.returncode:
            sys.exit(f"manage.py metaeval failed with exit code {proc.returncode}")
        return seconds, float(out.read_text()), proc.stdout


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} CPUs (load average {load}), Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prompts", type=int, default=15_000)
    parser.add_argument("--loop-resamples", type=int, default=50)
    parser.add_argument("--profile", action="store_true", help="cProfile the 10 scorers")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep the generated project if the database has it (DATABASE_URL of your own)",
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    django_setup()
    if args.measure:
        print(json.dumps(measure(args.loop_resamples, args.profile)))
        return

    from django.db import connection

    from annotation.models import Project
    from scoring.services import aggregation_run_create

    print(f"meta-evaluation benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {machine()}")
    project = Project.objects.filter(slug=SLUG).first()
    if args.reuse and project is not None and project.scoring_runs.count() == len(SCORERS):
        print(f"setup: reusing the generated project '{SLUG}'")
    else:
        t0 = time.perf_counter()
        generate(args.prompts)
        project = Project.objects.get(slug=SLUG)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        generated = time.perf_counter() - t0
        t0 = time.perf_counter()
        aggregation_run_create(project=project, trigger="command")
        aggregated = time.perf_counter() - t0
        t0 = time.perf_counter()
        scorers_create()
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
        scored = time.perf_counter() - t0
        print(
            f"setup (not timed below): judgments {generated:.0f} s, aggregation run "
            f"{aggregated:.1f} s, 10 scoring runs {scored:.0f} s"
        )

    child = [sys.executable, __file__, "--measure", "--loop-resamples", str(args.loop_resamples)]
    if args.profile:
        child.append("--profile")
    result = subprocess.run(child, check=True, stdout=subprocess.PIPE, text=True)
    m = json.loads(result.stdout.strip().splitlines()[-1])
    command_s, command_rss, table = command_run()

    c = m["counts"]
    print(
        f"project: {c['prompts']:,} prompts, {c['responses']:,} responses, {c['likert']:,} Likert "
        f"judgments, {c['votes']:,} pairwise votes -> {c['voted_pairs']:,} voted pairs "
        f"({c['voted_excluded']:,} without a plurality left out), {c['derived_pairs']:,} "
        f"score-derived pairs; {N_RESAMPLES} resamples"
    )
    print(table.rstrip())
    print()
    print(f"{'step':<58} {'seconds':>8} {'peak RSS':>10}")
    print(
        f"{'(a) humans_read (once)':<58} {m['humans_read_s']:>8.2f} {m['rss_humans_mib']:>7.0f} MiB"
    )
    print(f"{'    noise ceiling (once)':<58} {m['ceiling_s']:>8.2f}")
    for row in m["per_scorer"]:
        acc = row["accuracy"]["value"]
        print(
            f"{'    metaeval_compute ' + row['scorer']:<58} {row['seconds']:>8.2f}"
            f"   accuracy {acc if acc is None else round(acc, 3)}"
        )
    print(
        f"{'(b) every figure, 10 scorers, 1000-resample CIs':<58} {m['scorers_s']:>8.2f} "
        f"{m['rss_scorers_mib']:>7.0f} MiB"
    )
    total = m["humans_read_s"] + m["ceiling_s"] + m["scorers_s"]
    print(f"{'    (a) + ceiling + (b)':<58} {total:>8.2f}")
    print(
        f"{'(c) manage.py metaeval --project (own process)':<58} {command_s:>8.2f} {command_rss:>7.0f} MiB"
    )
    print(
        f"process RSS before reading: {m['rss_start_mib']:.0f} MiB (Django, numpy, scipy, sklearn); "
        f"peak traced allocations of one scorer's figures: {m['traced_peak_mib']:.0f} MiB"
    )
    n_loop = args.loop_resamples
    per_resample = m["loop_s"] / (n_loop + 1)
    scaled = per_resample * (N_RESAMPLES + 1) * len(SCORERS)
    ratio = scaled / m["scorers_s"]
    print(
        f"loop baseline (rm-good): {m['loop_s']:.2f} s for the point estimate + {n_loop} resamples "
        f"({per_resample * 1000:.0f} ms each); scaled to {N_RESAMPLES} resamples x 10 scorers: "
        f"{scaled:.0f} s (scaled, not measured)"
    )
    print(f"vectorized is {ratio:.0f}x faster than the scaled loop")
    worst = max(e["diff"] for e in m["equality"])
    print(f"equality of the vectorized CI with the loop's on the same {n_loop} resamples:")
    for e in m["equality"]:
        print(
            f"  {e['figure']:<30} [{e['ours'][0]:.6f}, {e['ours'][1]:.6f}]  |difference| {e['diff']:.1e}"
        )
    print(
        f"target (issue 10): a few seconds for all 10 scorers (< {TARGET_SECONDS:.0f} s): "
        f"{m['scorers_s']:.2f} s -> {'met' if m['scorers_s'] < TARGET_SECONDS else 'NOT met'}; "
        f"far faster than the loop (>= {TARGET_RATIO:.0f}x): {ratio:.0f}x -> "
        f"{'met' if ratio >= TARGET_RATIO else 'NOT met'}; CIs equal to {TARGET_EQUAL:.0e}: "
        f"{worst:.1e} -> {'met' if worst <= TARGET_EQUAL else 'NOT met'}"
    )
    if m.get("profile"):
        print("cProfile of (b), by own time:")
        print(m["profile"])


if __name__ == "__main__":
    main()
