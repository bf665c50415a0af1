"""Realtime replay: each pair's finest recording mapped onto the present time grid.

Candle `i` of the (endlessly looped) recorded sequence opens at
`slot_open(started, length) + (i - history + 1) * length` for whatever interval `length` is asked:
at server start the first `history` candles lie in the past ending with the current (open) one,
and one more becomes current per interval of wall clock. The current candle grows
deterministically from its open towards the recorded candle as its interval elapses.
"""

from __future__ import annotations

import numpy as np

from self_learning_offline.replay_exchange.candles import (
    DAY_MS,
    MINUTE_MS,
    Candles,
    Market,
    slot_open,
)
from self_learning_offline.utc_text import utc_iso


def partial_candle(candles: Candles, index: int, fraction: float) -> tuple[float, ...]:
    """OHLCV of candle `index` after `fraction` of its interval: grows towards the recorded one.

    High only rises and low only falls as `fraction` goes from 0 to 1, close moves from open to
    the recorded close, so the current candle looks like a live one and is deterministic in time.
    """
    fraction = min(max(fraction, 0.0), 1.0)
    open_ = float(candles.open[index])
    return (
        open_,
        open_ + (float(candles.high[index]) - open_) * fraction,
        open_ - (open_ - float(candles.low[index])) * fraction,
        open_ + (float(candles.close[index]) - open_) * fraction,
        float(candles.volume[index]) * fraction,
    )


def first_open(started_ms: int, history: int, length: int) -> int:
    """Open time (epoch ms) of candle 0, the first one served at interval `length`, of a replay
    started at `started_ms` with `history` candles in the past."""
    return slot_open(started_ms, length) - (history - 1) * length


class RealtimeSource:
    """Recorded sequences replayed on the present time grid of any requested interval.

    Candle `i` of a pair's finest recording (looping with continuous prices) opens at
    `slot_open(started, length) + (i - history + 1) * length`: at `started` candle `history-1` is
    the current one, and candle 0 is the 'listing' (nothing is served before it).
    """

    def __init__(
        self,
        markets: dict[str, Market],
        started_ms: int,
        history: int,
        ticker_interval_ms: int = MINUTE_MS,
    ) -> None:
        if history < 1:
            raise ValueError(f"history must be >= 1, got {history}")
        self._markets = markets
        self._started = started_ms
        self._history = history
        self._ticker_interval = ticker_interval_ms

    @property
    def started_utc(self) -> str:
        return utc_iso(self._started)

    def current_index(self, length: int, now: int) -> int:
        """Index (in the looped sequence) of the open candle at `now` for interval `length`."""
        return (slot_open(now, length) - first_open(self._started, self._history, length)) \
            // length

    def klines(
        self, symbol: str, length: int, start: int | None, end: int | None, limit: int, now: int
    ) -> Candles:
        """Binance kline window (open time inclusive) of the replay at `now`; last row partial."""
        first_ms = first_open(self._started, self._history, length)
        current = self.current_index(length, now)
        last = current if end is None else min(current, (end - first_ms) // length)
        first = 0 if start is None else max(0, -(-(start - first_ms) // length))
        if start is None:
            first = max(first, last - limit + 1)
        last = min(last, first + limit - 1)
        indices = np.arange(first, max(first, last + 1), dtype=np.int64)
        rows = looped(self._markets[symbol].finest, indices, first_ms, length)
        if len(rows) and last == current:
            fraction = (now - slot_open(now, length)) / length
            self._make_partial(rows, fraction)
        return rows

    def current(self, symbol: str, now: int) -> Candles:
        """The last day of ticker-interval candles (at most 1000), the current one partial."""
        limit = max(1, min(1000, DAY_MS // self._ticker_interval))
        return self.klines(symbol, self._ticker_interval, None, None, limit, now)

    @staticmethod
    def _make_partial(rows: Candles, fraction: float) -> None:
        last = Candles(*(column[-1:] for column in rows.columns()))
        values = partial_candle(last, 0, fraction)
        for column, value in zip(rows.columns()[1:], values, strict=True):
            column[-1] = value


def looped(candles: Candles, indices: np.ndarray, first_open: int, step: int) -> Candles:
    """Rows of the endlessly looped sequence at `indices`, opening at `first_open + i * step`.

    Loop `k` is scaled by `growth ** k` (growth = last close / first open) so every loop opens at
    the previous loop's close: prices stay continuous.
    """
    n = len(candles)
    loop, position = np.divmod(indices, n)
    growth = float(candles.close[-1] / candles.open[0])
    scale = np.power(growth, loop.astype(np.float64))
    return Candles(
        time=first_open + indices * step,
        open=candles.open[position] * scale,
        high=candles.high[position] * scale,
        low=candles.low[position] * scale,
        close=candles.close[position] * scale,
        volume=candles.volume[position].copy(),
    )
