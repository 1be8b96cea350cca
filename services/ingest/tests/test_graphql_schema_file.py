"""``docs/schema.graphql`` is the schema the code serves: a change to one without the other fails here."""

from __future__ import annotations

from pathlib import Path

from ingest.graphql.export import main, schema_text

SCHEMA_FILE = Path(__file__).resolve().parents[3] / "docs" / "schema.graphql"


def test_the_committed_schema_is_the_code_schema() -> None:
    assert SCHEMA_FILE.read_text() == schema_text(), (
        "docs/schema.graphql differs from the code: run `.venv/bin/python -m ingest.graphql.export`"
    )


def test_export_check_fails_on_drift_and_export_repairs_it(tmp_path: Path) -> None:
    drifted = tmp_path / "schema.graphql"
    drifted.write_text(schema_text().replace("type Event {", "type Event {\n  removedField: String"))
    assert main([str(drifted), "--check"]) == 1
    assert main([str(drifted)]) == 0
    assert main([str(drifted), "--check"]) == 0
    assert "type Query {" in drifted.read_text()
