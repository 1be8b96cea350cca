"""GraphiQL, served by the ingest with its own copy of GraphiQL's files (``static/``): no CDN.

The page itself holds no data and needs no key; every query it sends does (its Headers tab).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

STATIC_DIRECTORY: Final = Path(__file__).parent / "static"
ASSETS_PATH: Final = "/graphql/assets"

PAGE: Final = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Lovia Billing · GraphiQL</title>
  <meta name="robots" content="noindex">
  <link rel="stylesheet" href="{ASSETS_PATH}/graphiql.min.css">
  <style>body {{ margin: 0; }} #graphiql {{ height: 100vh; }}</style>
</head>
<body>
  <div id="graphiql">Loading GraphiQL…</div>
  <script src="{ASSETS_PATH}/react.production.min.js"></script>
  <script src="{ASSETS_PATH}/react-dom.production.min.js"></script>
  <script src="{ASSETS_PATH}/graphiql.min.js"></script>
  <script src="{ASSETS_PATH}/start.js"></script>
</body>
</html>
"""
