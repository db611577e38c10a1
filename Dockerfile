# The Trenchcoat web app and Celery workers (one image). The GPU scoring worker builds on
# it with the `gpu` extra (target `scoring`).
FROM python:3.11-slim-bookworm AS app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
# pg_dump and pg_restore for `manage.py backup` / `restore`: the major version of the postgres
# service in docker-compose.yml (an older pg_dump refuses a newer server; a test keeps them equal).
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client-15 \
    && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 1000 trenchcoat
COPY pyproject.toml README.md ./
COPY config ./config
COPY annotation ./annotation
COPY scoring ./scoring
COPY exports ./exports
RUN pip install .
COPY manage.py ./
COPY templates ./templates
COPY static ./static
# collectstatic needs settings that import; these values exist only at build time.
RUN SECRET_KEY=build-only TRENCHCOAT_PSEUDONYM_SALT=build-only python manage.py collectstatic --noinput
# A new named volume takes the owner of its mount point in the image: make them the app's.
RUN mkdir -p /data/releases /data/imports && chown trenchcoat:trenchcoat /data/releases /data/imports
USER trenchcoat
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]

FROM app AS scoring
USER root
RUN pip install ".[gpu]"
USER trenchcoat
CMD ["celery", "-A", "config", "worker", "-Q", "scoring", "--concurrency", "1", "--prefetch-multiplier", "1", "-l", "info"]
