"""Session-wide set-up of the deploy tests."""

from __future__ import annotations

import os

# jsii (the CDK's JavaScript runtime) warns about Node 20 on every start; the CDK still works.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
