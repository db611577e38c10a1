"""Near-duplicate candidates come from the indexed LSH band keys (PromptBand), so an import's
cost does not grow with the prompts already stored (benchmarks/growth.py)."""

import importlib

import numpy as np
import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext

from annotation.models import Prompt, PromptBand
from annotation.services import dedup
from annotation.services.imports import items_import
from tests.annotation.test_imports import item, jsonl

pytestmark = pytest.mark.django_db

STORED = [
    "How do I reverse a list in Python?",
    "What is the capital of Australia?",
    "Write a haiku about autumn leaves.",
]


def keys_of(prompt_ids) -> set[tuple[int, int]]:
    return set(PromptBand.objects.filter(prompt_id__in=prompt_ids).values_list("prompt_id", "key"))


def test_an_import_writes_the_band_keys_of_each_new_prompt(project):
    items_import(project=project, source=jsonl(*(item(f"s{i}", t) for i, t in enumerate(STORED))))
    for prompt in Prompt.objects.filter(project=project):
        signature = np.frombuffer(bytes(prompt.minhash), dtype=np.uint64).reshape(1, -1)
        expected = set(dedup.band_keys(signature)[0].tolist())
        stored = set(prompt.lsh_bands.values_list("key", flat=True))
        assert len(expected) == dedup.BANDS and stored == expected


def test_a_near_duplicate_of_a_stored_prompt_is_found_through_the_band_index(project):
    items_import(project=project, source=jsonl(*(item(f"s{i}", t) for i, t in enumerate(STORED))))
    # Without its signature, the stored prompt can only be found by its band keys.
    Prompt.objects.filter(external_id="s0").update(minhash=None)
    result = items_import(
        project=project,
        source=jsonl(item("new0", "How can I reverse a list in Python?")),
        on_duplicate="keep",
    )
    clusters = dict(Prompt.objects.values_list("external_id", "near_dup_cluster"))
    assert result.near_duplicate_clusters == 1
    assert clusters["new0"] == clusters["s0"] == Prompt.objects.get(external_id="s0").pk
    assert clusters["s1"] is None and clusters["s2"] is None


def test_an_import_reads_no_stored_signatures(project):
    items_import(project=project, source=jsonl(*(item(f"s{i}", t) for i, t in enumerate(STORED))))
    with CaptureQueriesContext(connection) as queries:
        items_import(project=project, source=jsonl(item("new0", "Name three prime numbers.")))
    reads = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    # Prompts are read by the file's ids and hashes only; the scan over every stored
    # signature (WHERE minhash IS NOT NULL) is gone, and the band index is read instead.
    assert not any('"minhash" IS NOT NULL' in sql for sql in reads)
    assert any("annotation_promptband" in sql for sql in reads)


def test_the_migration_backfills_the_keys_an_import_writes(project):
    items_import(project=project, source=jsonl(*(item(f"s{i}", t) for i, t in enumerate(STORED))))
    ids = list(Prompt.objects.values_list("id", flat=True))
    written = keys_of(ids)
    PromptBand.objects.all().delete()
    migration = importlib.import_module("annotation.migrations.0015_prompt_lsh_bands")
    migration.backfill(apps, None)
    assert keys_of(ids) == written and len(written) == len(STORED) * dedup.BANDS


def test_band_keys_propose_the_same_candidates_as_datasketch_lsh():
    from datasketch import MinHashLSH

    rng = np.random.default_rng(3)
    words = [f"w{k}" for k in range(300)]
    texts = []
    for _ in range(60):  # each text and variants of it with a few words changed
        base = rng.choice(words, 12)
        for changed in range(4):
            variant = base.copy()
            variant[rng.choice(12, changed, replace=False)] = rng.choice(words, changed)
            texts.append(" ".join(variant))
    signatures = [dedup.minhash_of(dedup.shingles(t)) for t in texts]
    lsh = MinHashLSH(threshold=dedup.LSH_THRESHOLD, num_perm=dedup.NUM_PERM)
    expected = set()
    for i, m in enumerate(signatures):
        expected |= {(other, i) for other in lsh.query(m)}
        lsh.insert(i, m)
    keys = dedup.band_keys(dedup.signature_matrix(signatures))
    found = dedup.candidate_pairs_among(list(range(len(texts))), keys)
    assert (lsh.b, lsh.r) == (dedup.BANDS, dedup.BAND_ROWS)
    assert len(expected) > 100 and found == expected
