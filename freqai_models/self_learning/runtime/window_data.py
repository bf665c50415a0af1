"""What data a backtest window's predictions were made from: the pair's candles over the
window's training and backtest range (a digest) and the run's pair list.

With `shared_across_pairs` (the default) a pair's predictions depend on every pair of the run
(the pooled statistics, and the strategy's basket features read the whole whitelist), so the
same window of a pair predicted in a run of A, B, C and in one of A, B are different
predictions; so are predictions made on other candles of the same time range (another datadir,
another exchange, re-downloaded data). FreqAI reuses a stored prediction in either case
(runtime/prediction_settings.py says when).

The digest covers the open, high, low, close and volume of the pair's candles from the start of
the window's training range to the end of its backtest range, with their dates in seconds (the
same candles digest the same whatever the date column's resolution). It is computed from the
frame FreqAI backtests, once per pair and window: a few hundred rows each. A frame that starts
after the training range does (plot-dataframe loads the strategy's startup candles only, not
the training days; a pair listed later) gives no digest: the window's candles are unknown
there, not different. Candles before the training range (indicator warm-up, earlier windows'
learning) and the other pairs' candles are not in it: a change of those alone goes unnoticed.

Pure: numpy and pandas only.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

OHLCV = ("open", "high", "low", "close", "volume")
NAMED_PAIRS = 4  # pairs named per side in a change of the pair list


@dataclass(frozen=True)
class BacktestWindow:
    """One backtest window of a pair, as FreqAI runs it: its training end (FreqAI's id of the
    window), the pair's candles in its backtest range (FreqAI compares their count with a
    stored prediction's rows) and the digest of the pair's candles over its training and
    backtest range."""

    training_end: int
    rows: int
    candles: str | None  # None: the frame does not hold the whole training range


def _seconds(dates: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    return pd.DatetimeIndex(dates).as_unit("s").asi8


def candles_digest(frame: pd.DataFrame) -> str:
    """16 hex digits of the candles' dates (seconds) and OHLCV values (float64)."""
    digest = hashlib.sha256(np.ascontiguousarray(_seconds(frame["date"])).tobytes())
    values = frame.loc[:, list(OHLCV)].to_numpy(dtype=np.float64)
    digest.update(np.ascontiguousarray(values).tobytes())
    return digest.hexdigest()[:16]


def backtest_windows(frame: pd.DataFrame, trainings: Iterable[Any],
                     backtests: Iterable[Any]) -> list[BacktestWindow]:
    """The windows of FreqAI's training and backtest time ranges (its `dk.training_timeranges`
    and `dk.backtesting_timeranges`, freqtrade TimeRanges) over the pair's `frame`, in FreqAI's
    order; the backtest candles counted as FreqAI counts them."""
    dates = frame["date"]
    first = dates.min() if len(dates) else None
    windows = []
    for train, test in zip(trainings, backtests, strict=False):
        before_stop = dates < test.stopdt
        rows = int(((dates >= test.startdt) & before_stop).sum())
        candles = (candles_digest(frame.loc[(dates >= train.startdt) & before_stop])
                   if first is not None and first <= train.startdt else None)
        windows.append(BacktestWindow(int(train.stopts), rows, candles))
    return windows


def pairs_id(pairs: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(pairs)).encode()).hexdigest()[:16]


def _some(pairs: Sequence[str]) -> str:
    more = len(pairs) - NAMED_PAIRS
    return ", ".join(pairs[:NAMED_PAIRS]) + (f" and {more} more" if more > 0 else "")


def pairs_change(before: Sequence[str], now: Sequence[str]) -> str | None:
    """How the run's pair list differs from the one a window was predicted with (the pairs
    added and left out, or their order: FreqAI backtests them in that order and a pair's pooled
    statistics read the pairs before it); None when they are the same."""
    if list(before) == list(now):
        return None
    gone = [p for p in before if p not in now]
    new = [p for p in now if p not in before]
    parts = ([f"without {_some(gone)}"] if gone else []) + ([f"with {_some(new)}"] if new else [])
    return (f"pair list of {len(before)} -> {len(now)} pairs ("
            f"{'; '.join(parts) if parts else 'the same pairs in another order'})")
