"""Leases: which task an annotator gets next, and how its slot is held and given back.

The invariant (DESIGN 4.1): for every task, ``done + active leases <= quorum`` at all
times. Every change of a task's counters is either a compare-and-set
(``filter(..., filled__lt=quorum).update(...)`` and one row changed) or a write under the
task's row lock, and the CHECK constraints on Task refuse anything else. On PostgreSQL the
candidate rows are read with ``FOR UPDATE SKIP LOCKED`` so concurrent claimers never queue on
the same task; elsewhere the compare-and-set alone keeps the invariant.

Lock discipline, so concurrent writers never deadlock: rows are locked in the order
assignment -> prompt -> task -> domain progress; row locks are FOR NO KEY UPDATE, which
foreign-key checks of concurrent inserts do not wait for; and the domain progress counter is
each transaction's last write, so whoever holds it only has COMMIT left to do. A claimer
never waits while it holds candidate rows: SKIP LOCKED passes over rows others hold.

Gold items (DESIGN 4.5) sit beside all this: the normal claim passes over every task of a
gold prompt, and a gold lease (``Assignment.gold``, drawn at the project's ``gold_rate``)
holds no quorum slot, so its claim, release and submission move no counter.

The modules: ``leases`` (the annotator behind a user, an annotator's own lease, release,
expiry and skip), ``claim`` (the order of domains and kinds, the two claims and
``assignment_claim_next``, the pause) and ``gold`` (gold draws and gold leases).

Constants and per-process hints live in the module that reads them: a test that patches
one patches it there (``claim.CANDIDATE_WINDOW``, not this package's name for it). The
per-process dicts are re-exported as the same objects, so clearing them here clears them.
"""

from .claim import (
    CANDIDATE_WINDOW,
    PAUSED_MESSAGE,
    AnnotatorPaused,
    _recently_empty,
    annotator_is_paused,
    assignment_claim_next,
)
from .gold import GOLD_WINDOW
from .leases import (
    EXPIRE_BATCH,
    SKIP_REASONS,
    LeaseNotFound,
    NotYourLease,
    _expiry_checked,
    annotator_for_user,
    assignment_current,
    assignment_get_for,
    assignment_skip,
    leases_expire_due,
)

__all__ = [
    "CANDIDATE_WINDOW",
    "EXPIRE_BATCH",
    "GOLD_WINDOW",
    "PAUSED_MESSAGE",
    "SKIP_REASONS",
    "AnnotatorPaused",
    "LeaseNotFound",
    "NotYourLease",
    "_expiry_checked",
    "_recently_empty",
    "annotator_for_user",
    "annotator_is_paused",
    "assignment_claim_next",
    "assignment_current",
    "assignment_get_for",
    "assignment_skip",
    "leases_expire_due",
]
