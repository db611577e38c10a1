"""Signals other apps listen to. The annotation app imports nothing from them (DESIGN 2)."""

from django.dispatch import Signal

# Sent after new judgments are committed, by submissions and imports.
# kwargs: project_id (int), count (int: how many judgments were added).
judgments_recorded = Signal()
