"""Where the repository and its tools are, for the generator and the offline checks.

``billing_infra`` is installed editable from ``infra/src``, so the repository is three levels up.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def tool(name: str) -> str:
    """A console tool of the workspace's environment (hadolint, cfn-lint, check-jsonschema, uv)."""
    candidates = [Path(sys.executable).parent / name]
    if name == "uv":  # the Makefile installs uv under .tools/
        candidates.insert(0, REPO_ROOT / ".tools" / "uv" / "bin" / "uv")
    for path in candidates:
        if path.exists():
            return str(path)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed; run `make sync`")
    return found
