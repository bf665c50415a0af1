"""`generate_candles`: one pair's seeded synthetic candles in freqtrade's layout.

It simulates one-minute candles (`price_model`) and aggregates them, so the 5m, 15m and 1h
frames of one pair, seed and start describe the same market. Prices are rounded to about six
significant digits (a tick), so high >= max(open, close) and low <= min(open, close) hold
exactly. Pure and deterministic: the same arguments give the same frame, bit for bit.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from self_learning_offline.market.assets import PAIR_PATTERN, market_model, pair_seed
from self_learning_offline.market.price_model import minute_candles
from self_learning_offline.market.scenario import Scenario
from self_learning_offline.market.timeframes import parse_timeframe

COLUMNS = ["date", "open", "high", "low", "close", "volume"]
STREAMS = 6  # independent random streams: innovations, slow vol, regimes, wicks, volume, model


def aggregate(minutes: pd.DataFrame, size: int) -> pd.DataFrame:
    """Consecutive blocks of `size` one-minute candles -> one candle each."""
    blocks = len(minutes) // size

    def block(column: str) -> np.ndarray:
        return minutes[column].to_numpy()[: blocks * size].reshape(blocks, size)

    return pd.DataFrame({
        "date": minutes["date"].to_numpy()[: blocks * size : size],
        "open": block("open")[:, 0],
        "high": block("high").max(axis=1),
        "low": block("low").min(axis=1),
        "close": block("close")[:, -1],
        "volume": block("volume").sum(axis=1),
    })


def round_prices(frame: pd.DataFrame, tick: float) -> pd.DataFrame:
    """Prices to the tick (monotone, so OHLC ordering survives), volume to 1e-8, >= 1e-8."""
    decimals = max(0, -math.floor(math.log10(tick)))
    frame = frame.copy()
    for column in ("open", "high", "low", "close"):
        frame[column] = np.maximum(frame[column].to_numpy().round(decimals), tick)
    frame["volume"] = np.maximum(frame["volume"].to_numpy().round(8), 1e-8)
    return frame


def generate_candles(
    pair: str, timeframe: str, start: datetime, periods: int, seed: int,
    scenario: Scenario | None = None,
) -> pd.DataFrame:
    """`periods` candles of `pair` from `start` (UTC, on the timeframe grid), freqtrade layout.

    Pure and deterministic: the same arguments give the same frame; different timeframes with the
    same pair, seed, start and scenario aggregate the same one-minute market.
    """
    if not PAIR_PATTERN.match(pair):
        raise ValueError(f"Invalid pair '{pair}': expected BASE/QUOTE, e.g. BTC/USDT.")
    size = parse_timeframe(timeframe)
    if periods < 1:
        raise ValueError(f"periods must be >= 1, got {periods}.")
    start = pd.Timestamp(start).tz_localize(UTC) if start.tzinfo is None else pd.Timestamp(start)
    if int(start.timestamp()) % (size * 60) or start.second or start.microsecond:
        raise ValueError(f"start {start} is not on the {timeframe} grid.")
    streams = [np.random.default_rng(child) for child in pair_seed(pair, seed).spawn(STREAMS)]
    model = market_model(pair, streams.pop())
    minutes = minute_candles(model, streams, start.to_pydatetime(), periods * size, scenario)
    frame = round_prices(aggregate(minutes, size), model.tick)
    frame["date"] = pd.to_datetime(frame["date"], utc=True).astype("datetime64[ns, UTC]")
    return frame[COLUMNS]
