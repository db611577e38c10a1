"""Listens to the annotation app's judgments_recorded signal (connected in apps.py)."""

from __future__ import annotations

from .services import aggregation_auto_enqueue


def on_judgments_recorded(sender, *, project_id: int, count: int, **kwargs) -> None:
    aggregation_auto_enqueue(project_id=project_id, count=count)
