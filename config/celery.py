"""The Celery app. Queues: default, aggregate, exports, scoring (GPU host, concurrency 1)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("trenchcoat")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
