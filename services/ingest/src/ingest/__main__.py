"""``billing-ingest``: serve the ingest with uvicorn (one worker; replicas scale it out)."""

from __future__ import annotations

import uvicorn

from ingest.app import create_app
from lovia_billing import IngestSettings
from lovia_billing.logs import get_logger, route_library_logs
from lovia_billing.tracing import configure_tracing


def main() -> None:
    settings = IngestSettings()
    configure_tracing("billing-ingest")  # off unless OTEL_EXPORTER_OTLP_ENDPOINT is set
    # One JSON line per record: uvicorn's and the libraries' warnings through the same handler.
    route_library_logs(get_logger("ingest", settings.log_level))
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=20,
    )


if __name__ == "__main__":
    main()
