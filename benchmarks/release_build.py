"""Release build of a generated 15,000-prompt project (DESIGN 9: under 30 s, bounded memory).

Generates two projects in the PostgreSQL at DATABASE_URL (5,000 and 15,000 prompts, 3
responses each, 5 Likert judgments per response, 3 pairwise judgments per pair and a
finished aggregation run with scores), then for each:

- builds a release and times it (wall clock, end to end: queries, splits, five data files,
  checksums, manifest, card, atomic publish);
- builds it again under tracemalloc and reports the peak of Python allocations during the
  build. Both builds must give byte-identical files (checked).

Memory that does not grow with prompts shows as a peak ratio far below the 3x prompt ratio.

    SECRET_KEY=x TRENCHCOAT_PSEUDONYM_SALT=y bin/with-test-services .venv/bin/python benchmarks/release_build.py
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402

from annotation.services.projects import project_create  # noqa: E402
from exports.services.build import ALL_FILES, release_build, release_path, release_request  # noqa: E402
from tests.exports.factories import scored_project  # noqa: E402


def maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench(n_prompts: int) -> dict:
    project = project_create(
        slug=f"bench-{n_prompts}",
        name=f"Bench {n_prompts}",
        domains=[{"name": n} for n in ("chat", "code", "math", "safety", "writing")],
    )
    t0 = time.perf_counter()
    scored_project(
        project, n_prompts=n_prompts, responses_per_prompt=3, annotators=5, seed=n_prompts
    )
    generated = time.perf_counter() - t0

    release = release_request(project=project, holdout_domains=["safety"])
    t0 = time.perf_counter()
    release = release_build(release=release)
    seconds = time.perf_counter() - t0

    again = release_request(project=project, holdout_domains=["safety"])
    tracemalloc.start()
    again = release_build(release=again)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    identical = all(
        (release_path(release) / n).read_bytes() == (release_path(again) / n).read_bytes()
        for n in ALL_FILES
    )
    size = sum(meta["bytes"] for meta in release.files.values())
    return {
        "prompts": n_prompts,
        "responses": release.counts["responses"],
        "preferences": release.counts["preferences"],
        "judgments": release.counts["likert_judgments"] + release.counts["pairwise_judgments"],
        "generate_s": generated,
        "build_s": seconds,
        "peak_mb": peak / 2**20,
        "files_mb": size / 2**20,
        "identical": identical,
    }


def main() -> int:
    if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
        print(
            "run with DATABASE_URL pointing at PostgreSQL (bin/with-test-services does)",
            file=sys.stderr,
        )
        return 2
    settings.EXPORT_DIR = Path(tempfile.mkdtemp(prefix="trenchcoat-bench-"))
    call_command("migrate", verbosity=0)
    print(
        f"release build benchmark, {os.cpu_count()} CPUs, PostgreSQL, exports in {settings.EXPORT_DIR}"
    )
    rows = [bench(5_000), bench(15_000)]
    print(
        f"{'prompts':>8} {'responses':>9} {'pairs':>7} {'judgments':>9} {'build s':>8} "
        f"{'peak MiB':>9} {'files MiB':>9} identical"
    )
    for r in rows:
        print(
            f"{r['prompts']:>8} {r['responses']:>9} {r['preferences']:>7} {r['judgments']:>9} "
            f"{r['build_s']:>8.2f} {r['peak_mb']:>9.1f} {r['files_mb']:>9.1f} {r['identical']}"
        )
    small, big = rows
    print(
        f"15,000 prompts: {big['build_s']:.2f} s (target < 30 s); peak traced memory "
        f"{big['peak_mb']:.1f} MiB vs {small['peak_mb']:.1f} MiB at 5,000 prompts: "
        f"x{big['peak_mb'] / small['peak_mb']:.2f} for x3 prompts; "
        f"process max RSS {maxrss_mb():.0f} MiB (includes data generation)"
    )
    ok = big["build_s"] < 30 and all(r["identical"] for r in rows)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
