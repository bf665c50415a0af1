"""Recorded candles: discovery, loading and the pure mapping from a request to candle rows.

A *recording* is one freqtrade feather file (`BASE_QUOTE-TF.feather`). Two sources answer kline
requests from recordings:

* `StaticSource`   candles at their recorded dates (exact timeframe, or aggregated from a finer
                   recording whose timeframe divides the requested one).
* `RealtimeSource` (in `realtime.py`) the finest recording of each pair replayed on the present
                   time grid of whatever interval is asked.

Rows are numpy arrays `(open_time_ms, open, high, low, close, volume)`; everything here is pure
except `load_recordings`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

FILE_PATTERN = re.compile(r"^(?P<base>[A-Za-z0-9]+)_(?P<quote>[A-Za-z0-9]+)-(?P<tf>\d+[smhdw])$")
OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
DATE_COLUMN = "date"

SECOND_MS = 1_000
MINUTE_MS = 60 * SECOND_MS
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
WEEK_MS = 7 * DAY_MS
# Binance weekly candles open on Monday 00:00 UTC; 1970-01-01 was a Thursday.
WEEK_OFFSET_MS = 4 * DAY_MS
# The Binance spot intervals with a fixed length (1M, calendar months, is not replayed).
INTERVALS_MS: dict[str, int] = {
    "1s": SECOND_MS,
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": HOUR_MS,
    "2h": 2 * HOUR_MS,
    "4h": 4 * HOUR_MS,
    "6h": 6 * HOUR_MS,
    "8h": 8 * HOUR_MS,
    "12h": 12 * HOUR_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": WEEK_MS,
}


@dataclass(frozen=True)
class Candles:
    """Column arrays of candles sorted by open time (ms since epoch, UTC)."""

    time: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return len(self.time)

    def take(self, index: np.ndarray | slice) -> Candles:
        return Candles(*(column[index] for column in self.columns()))

    def columns(self) -> tuple[np.ndarray, ...]:
        return (self.time, self.open, self.high, self.low, self.close, self.volume)


@dataclass(frozen=True)
class Market:
    """One spot market and its recordings, keyed by timeframe length in ms."""

    base: str
    quote: str
    recordings: dict[int, Candles] = field(default_factory=dict)

    @property
    def symbol(self) -> str:
        return f"{self.base}{self.quote}"

    @property
    def pair(self) -> str:
        return f"{self.base}/{self.quote}"

    @property
    def finest(self) -> Candles:
        return self.recordings[min(self.recordings)]


def interval_ms(interval: str) -> int | None:
    """Length of a Binance interval string in ms, None when not replayable."""
    return INTERVALS_MS.get(interval)


def interval_offset(length_ms: int) -> int:
    """Grid offset of an interval: weekly candles start on Monday, all others at the epoch."""
    return WEEK_OFFSET_MS if length_ms == WEEK_MS else 0


def slot_open(time_ms: int, length_ms: int) -> int:
    """Open time of the candle of `length_ms` containing `time_ms`."""
    offset = interval_offset(length_ms)
    return (time_ms - offset) // length_ms * length_ms + offset


def timeframe_ms(timeframe: str) -> int:
    """Length of a freqtrade timeframe such as '5m' or '1h' (any multiple), in ms."""
    units = {"s": SECOND_MS, "m": MINUTE_MS, "h": HOUR_MS, "d": DAY_MS, "w": WEEK_MS}
    match = re.fullmatch(r"(\d+)([smhdw])", timeframe)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"Invalid timeframe '{timeframe}', expected e.g. '1m', '5m', '1h'.")
    return int(match.group(1)) * units[match.group(2)]


def parse_filename(path: Path) -> tuple[str, str, int] | None:
    """`ADA_BTC-5m.feather` -> ('ADA', 'BTC', 300000); None for other files."""
    if path.suffix != ".feather":
        return None
    match = FILE_PATTERN.match(path.stem)
    if not match:
        return None
    return match["base"].upper(), match["quote"].upper(), timeframe_ms(match["tf"])


class RecordingError(ValueError):
    """A candle file the exchange cannot serve (the message names the file and the column)."""


def frame_to_candles(frame: pd.DataFrame, name: str = "the frame") -> tuple[Candles, int]:
    """freqtrade OHLCV frame -> (Candles sorted, duplicates dropped, float64; the number of
    candles skipped because a date, price or volume is missing, NaN or infinite).

    RecordingError naming `name` and the column when a column is missing or not numeric."""
    missing = [column for column in (DATE_COLUMN, *OHLCV_COLUMNS) if column not in frame]
    if missing:
        raise RecordingError(
            f"{name} has no {', '.join(repr(c) for c in missing)} column "
            f"(it has {', '.join(map(repr, map(str, frame.columns))) or 'none'}): a freqtrade "
            f"OHLCV file needs {', '.join((DATE_COLUMN, *OHLCV_COLUMNS))}. Re-download or "
            "regenerate it, or move it out of the data folder.")
    frame = frame.sort_values(DATE_COLUMN).drop_duplicates(DATE_COLUMN, keep="last")
    try:
        dates = pd.to_datetime(frame[DATE_COLUMN], utc=True)
    except (TypeError, ValueError) as err:
        raise RecordingError(f"{name}: column {DATE_COLUMN!r} holds no dates ({err})") from None
    values = []
    for column in OHLCV_COLUMNS:
        try:
            values.append(frame[column].to_numpy(dtype=np.float64))
        except (TypeError, ValueError) as err:
            raise RecordingError(f"{name}: column {column!r} is not numeric ({err})") from None
    usable = dates.notna().to_numpy() & np.logical_and.reduce(
        [np.isfinite(column) for column in values])
    times = dates[usable].dt.as_unit("ms").astype("int64").to_numpy()
    return Candles(times, *(column[usable] for column in values)), int((~usable).sum())


def load_recordings(datadir: Path) -> dict[str, Market]:
    """Read every `BASE_QUOTE-TF.feather` below `datadir` (not recursive) -> symbol -> Market.

    RecordingError for a file missing a column; candles with a NaN or infinite value are
    skipped and counted in one warning per file (never served as "nan")."""
    markets: dict[str, Market] = {}
    for path in sorted(datadir.glob("*.feather")):
        parsed = parse_filename(path)
        if parsed is None:
            logger.debug(f"Skipping {path.name}: not a BASE_QUOTE-TF.feather spot file.")
            continue
        base, quote, length = parsed
        try:
            frame = pd.read_feather(path)
        except Exception as err:  # pyarrow's errors have no common public base
            raise RecordingError(f"{path} is not a readable feather file ({err}). Re-download "
                                 "or regenerate it, or move it out of the data folder.") from None
        candles, skipped = frame_to_candles(frame, str(path))
        if skipped:
            logger.warning(f"{path}: skipped {skipped} candle(s) with a missing, NaN or "
                           f"infinite date, price or volume; serving the other {len(candles)}.")
        if len(candles) == 0:
            logger.warning(f"Skipping {path.name}: no candles.")
            continue
        market = markets.setdefault(f"{base}{quote}", Market(base, quote))
        market.recordings[length] = candles
    return markets


def aggregate(candles: Candles, length_ms: int) -> Candles:
    """Aggregate candles into candles of `length_ms` on Binance's grid (pure)."""
    if len(candles) == 0:
        return candles
    offset = interval_offset(length_ms)
    groups = (candles.time - offset) // length_ms
    starts = np.flatnonzero(np.r_[True, groups[1:] != groups[:-1]])
    ends = np.r_[starts[1:], len(groups)] - 1
    return Candles(
        time=groups[starts] * length_ms + offset,
        open=candles.open[starts],
        high=np.maximum.reduceat(candles.high, starts),
        low=np.minimum.reduceat(candles.low, starts),
        close=candles.close[ends],
        volume=np.add.reduceat(candles.volume, starts),
    )


def select_window(
    times: np.ndarray, start: int | None, end: int | None, limit: int
) -> tuple[int, int]:
    """Binance kline window over sorted open times -> [lo, hi) indices.

    Open time inclusive on both `startTime` and `endTime`; with a start the first `limit` rows from
    it, without one the last `limit` rows up to the end.
    """
    lo = 0 if start is None else int(np.searchsorted(times, start, side="left"))
    hi = len(times) if end is None else int(np.searchsorted(times, end, side="right"))
    if hi <= lo:
        return lo, lo
    if start is None:
        return max(lo, hi - limit), hi
    return lo, min(hi, lo + limit)


class StaticSource:
    """Candles at their recorded dates; the last recorded candle is 'current' for tickers."""

    def __init__(self, markets: dict[str, Market]) -> None:
        self._markets = markets
        self._aggregated: dict[tuple[str, int], Candles] = {}

    def klines(
        self, symbol: str, length: int, start: int | None, end: int | None, limit: int, now: int
    ) -> Candles:
        candles = self._recording(symbol, length)
        lo, hi = select_window(candles.time, start, end, limit)
        return candles.take(slice(lo, hi))

    def current(self, symbol: str, now: int) -> Candles:
        """The last `DAY_MS` of the finest recording; its last row is the current candle."""
        finest = self._markets[symbol].finest
        lo = int(np.searchsorted(finest.time, finest.time[-1] - DAY_MS, side="right"))
        return finest.take(slice(lo, None))

    def _recording(self, symbol: str, length: int) -> Candles:
        market = self._markets[symbol]
        if length in market.recordings:
            return market.recordings[length]
        key = (symbol, length)
        if key not in self._aggregated:
            divisors = [tf for tf in market.recordings if length % tf == 0]
            source = market.recordings[max(divisors)] if divisors else None
            empty = Candles(*(np.empty(0, dtype=dt) for dt in ("int64",) + ("float64",) * 5))
            self._aggregated[key] = aggregate(source, length) if source is not None else empty
        return self._aggregated[key]
