"""The generator's candle grid: timeframe names in minutes, and which candles N days hold.

Pure functions of their arguments; the CLI and the benchmarks choose their candles here, the
market model and `generate_candles` read the grid from here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

MINUTES_PER_DAY = 1440
TIMEFRAME_UNITS = {"m": 1, "h": 60, "d": MINUTES_PER_DAY, "w": 7 * MINUTES_PER_DAY}


def parse_timeframe(timeframe: str) -> int:
    """'5m' -> 5, '1h' -> 60, '1d' -> 1440 (minutes); ValueError for anything else."""
    match = re.fullmatch(r"(\d+)([mhdw])", timeframe)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"Invalid timeframe '{timeframe}': use minutes or more, e.g. 5m, 1h, 1d.")
    return int(match.group(1)) * TIMEFRAME_UNITS[match.group(2)]


def span(end: datetime, days: int, timeframe: str) -> tuple[datetime, int]:
    """(start on the timeframe grid, periods) of the candles opening in [end - days, end)."""
    size = timedelta(minutes=parse_timeframe(timeframe))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = end - timedelta(days=days)
    start = epoch + (first - epoch) // size * size
    return start, (end - start) // size
