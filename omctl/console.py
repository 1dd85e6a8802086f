"""Where omctl writes: data to stdout, progress and errors to stderr."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def emit_json(data: Any) -> None:
    """Write one JSON document to stdout, unstyled, for scripts."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()
