# syntax=docker/dockerfile:1
# One image per service, all built from the repository root with the workspace's one lock file:
#   docker build --target ingest .   (targets: ingest, xendit-sync, erpnext-sync, chartmogul-sync,
#   mautic-sync, reconcile (the daily scheduled task), and sandboxes for docker-compose only)
# Each image holds only its own package's dependencies (uv sync --package, no dev group), installed
# in a layer that changes only when the lock file does; the source goes in a second layer.
# Plain COPY (no RUN --mount) so buildah (CI, rootless) builds it as well as BuildKit does.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ghcr.io/astral-sh/uv:0.13.8 AS uv

# ---------------------------------------------------------------- build: lock, workspace manifests
FROM ${PYTHON_IMAGE} AS build
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src
# uv --locked checks the lock against every workspace member, so every manifest must be present.
COPY pyproject.toml uv.lock ./
COPY shared/pyproject.toml shared/
COPY cli/pyproject.toml cli/
COPY sandboxes/pyproject.toml sandboxes/
COPY testing/pyproject.toml testing/
COPY infra/pyproject.toml infra/
COPY services/ingest/pyproject.toml services/ingest/
COPY services/xendit_sync/pyproject.toml services/xendit_sync/
COPY services/erpnext_sync/pyproject.toml services/erpnext_sync/
COPY services/chartmogul_sync/pyproject.toml services/chartmogul_sync/
COPY services/mautic_sync/pyproject.toml services/mautic_sync/

# ---------------------------------------------------------------- runtime: non-root, curl, SIGTERM
FROM ${PYTHON_IMAGE} AS runtime
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 billing \
    && useradd --system --uid 10001 --gid billing --no-create-home --shell /usr/sbin/nologin billing
ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
USER 10001:10001
# Fargate sends SIGTERM and waits 30 s: the services drain in-flight work on it.
STOPSIGNAL SIGTERM

FROM runtime AS consumer
ENV HEALTH_FILE=/tmp/billing-heartbeat
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "lovia_billing.consumer.healthcheck"]

# ---------------------------------------------------------------- sandboxes (docker-compose only)
FROM build AS sandboxes-build
RUN uv sync --locked --no-dev --no-editable --no-install-workspace --package=billing-sandboxes
COPY sandboxes/ sandboxes/
RUN uv sync --locked --no-dev --no-editable --package=billing-sandboxes

FROM runtime AS sandboxes
COPY --from=sandboxes-build /app/.venv /app/.venv
CMD ["python", "-m", "billing_sandboxes", "aws", "--host", "0.0.0.0", "--port", "4566"]

# ---------------------------------------------------------------- consumers
FROM build AS xendit-sync-build
RUN uv sync --locked --no-dev --no-editable --no-install-workspace --package=billing-xendit-sync
COPY shared/ shared/
COPY services/xendit_sync/ services/xendit_sync/
RUN uv sync --locked --no-dev --no-editable --package=billing-xendit-sync

FROM consumer AS xendit-sync
COPY --from=xendit-sync-build /app/.venv /app/.venv
CMD ["billing-xendit-sync"]

FROM build AS erpnext-sync-build
RUN uv sync --locked --no-dev --no-editable --no-install-workspace --package=billing-erpnext-sync
COPY shared/ shared/
COPY services/erpnext_sync/ services/erpnext_sync/
RUN uv sync --locked --no-dev --no-editable --package=billing-erpnext-sync

FROM consumer AS erpnext-sync
COPY --from=erpnext-sync-build /app/.venv /app/.venv
CMD ["billing-erpnext-sync"]

FROM build AS chartmogul-sync-build
RUN uv sync --locked --no-dev --no-editable --no-install-workspace --package=billing-chartmogul-sync
COPY shared/ shared/
COPY services/chartmogul_sync/ services/chartmogul_sync/
RUN uv sync --locked --no-dev --no-editable --package=billing-chartmogul-sync

FROM consumer AS chartmogul-sync
COPY --from=chartmogul-sync-build /app/.venv /app/.venv
CMD ["billing-chartmogul-sync"]

FROM build AS mautic-sync-build
RUN uv sync --locked --no-dev --no-editable --no-install-workspace --package=billing-mautic-sync
COPY shared/ shared/
COPY services/mautic_sync/ services/mautic_sync/
RUN uv sync --locked --no-dev --no-editable --package=billing-mautic-sync

FROM consumer AS mautic-sync
COPY --from=mautic-sync-build /app/.venv /app/.venv
CMD ["billing-mautic-sync"]

# ---------------------------------------------------------------- reconcile: `billing`, as a scheduled task
FROM build AS reconcile-build
RUN uv sync --locked --no-dev --no-editable --no-install-workspace --package=billing-cli
COPY shared/ shared/
COPY cli/ cli/
RUN uv sync --locked --no-dev --no-editable --package=billing-cli

# No HEALTHCHECK: a task that runs, reports and exits; EventBridge starts it with its own command.
FROM runtime AS reconcile
COPY --from=reconcile-build /app/.venv /app/.venv
CMD ["billing", "reconcile", "--since", "yesterday", "--repair", "--metrics"]

# ---------------------------------------------------------------- ingest (last: the default target)
FROM build AS ingest-build
RUN uv sync --locked --no-dev --no-editable --no-install-workspace --package=billing-ingest
COPY shared/ shared/
COPY services/ingest/ services/ingest/
RUN uv sync --locked --no-dev --no-editable --package=billing-ingest

FROM runtime AS ingest
COPY --from=ingest-build /app/.venv /app/.venv
EXPOSE 3005
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["sh", "-c", "curl -f http://localhost:3005/ || exit 1"]
CMD ["billing-ingest"]
