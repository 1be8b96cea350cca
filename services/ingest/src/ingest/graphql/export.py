"""``python -m ingest.graphql.export [--check]``: write the schema to ``docs/schema.graphql``, or check it.

The file is what clients read and review; ``--check`` (and a test) fails when the code's schema and
the file differ, so a change to the schema is always a change to the file too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ingest.graphql.schema import build_schema

HEADER = "# The ingest's GraphQL schema (POST /graphql). Generated: python -m ingest.graphql.export\n\n"
DEFAULT_PATH = Path(__file__).resolve().parents[5] / "docs" / "schema.graphql"


def schema_text() -> str:
    return HEADER + build_schema().as_str().rstrip() + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the code")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.check:
        current = args.path.read_text() if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is out of date: run python -m ingest.graphql.export", file=sys.stderr)
            return 1
        return 0
    args.path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
