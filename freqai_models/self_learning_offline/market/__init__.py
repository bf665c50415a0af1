"""Seeded synthetic crypto market: the project's default demo, test and benchmark data.

The generator lives in `price_model` for now; the CLI is `python -m self_learning_offline.market`.
The model package `self_learning` never imports it, and it imports nothing from
`self_learning`.
"""

from self_learning_offline.market.price_model import (
    EdgeFlip,
    generate_candles,
    pair_filename,
    parse_timeframe,
    span,
    write_feather,
)

__all__ = [
    "EdgeFlip",
    "generate_candles",
    "pair_filename",
    "parse_timeframe",
    "span",
    "write_feather",
]
