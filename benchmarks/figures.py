"""How a benchmark script reports: each figure on a line of its own, then all of them as one
JSON line, the last line of its output (what the docs' tables and the tests read)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def print_figures(figures: Mapping[str, Any], width: int = 30) -> None:
    """`  <key> <value>` per figure (keys padded to `width`), then the JSON line."""
    for key, value in figures.items():
        print(f"  {key:<{width}} {value}")
    print(json.dumps(figures))
