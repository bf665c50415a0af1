"""The pure parts of benchmarks/timeframes.py (candles of other timeframes, its setups) and
of odd_candles.py's helpers it reuses at those timeframes (no freqtrade run)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from benchmark_support import load_benchmark

from self_learning_offline.replay_exchange.candles import timeframe_ms

timeframes = load_benchmark("timeframes")
odd = load_benchmark("odd_candles")


def five_minute_candles(start: str, periods: int) -> pd.DataFrame:
    dates = pd.date_range(start, periods=periods, freq="5min", tz="UTC")
    close = 100.0 + np.arange(periods)
    return pd.DataFrame({"date": dates, "open": close - 0.5, "high": close + 1.0,
                         "low": close - 2.0, "close": close, "volume": np.ones(periods)})


def test_resampled_candles_are_whole_candles_of_the_timeframe():
    """15m from 5m: open of the first, highest high, lowest low, close of the last, summed
    volume; a 15m candle with only some of its 5m candles (either end) is dropped."""
    frame = five_minute_candles("2025-01-01 00:10", 9)  # 00:10 | 00:15, 00:30 | 00:45, 00:50
    out = timeframes.resampled(frame, "15m")
    assert list(out["date"]) == list(pd.to_datetime(["2025-01-01 00:15", "2025-01-01 00:30"],
                                                    utc=True))
    first = frame.iloc[1:4]
    assert out.iloc[0][["open", "high", "low", "close", "volume"]].tolist() == [
        first["open"].iloc[0], first["high"].max(), first["low"].min(),
        first["close"].iloc[-1], 3.0]


def test_timeframes_are_made_from_the_longest_recording_that_divides_them():
    assert [timeframes.source_timeframe(tf) for tf in ("15m", "30m", "1h", "2h", "4h")] == [
        "5m", "5m", "1h", "1h", "1h"]


def test_setups_are_dev_windows_freqtrade_accepts():
    """Every setup runs inside a dev window, and its include_timeframes hold the timeframe and
    none below it (freqtrade refuses those)."""
    for tf, setup in timeframes.SETUPS.items():
        timeframes.check_dev(setup.timerange, timeframes.DEV_WINDOWS)
        assert tf in setup.include_timeframes
        assert min(map(timeframe_ms, setup.include_timeframes)) == timeframe_ms(tf)


def test_untrained_entries_look_back_one_candle_of_the_timeframe():
    """A 4h trade opened at 08:00 was signalled by the 04:00 candle: usable there, so it is
    not an entry without a prediction (the 07:00 row, one hour back, is not a 4h candle)."""
    preds = pd.DataFrame({"date": pd.to_datetime(["2025-01-01 00:00", "2025-01-01 04:00"],
                                                 utc=True), "do_predict": [0, 1]})
    trades = pd.DataFrame({"open_date": pd.to_datetime(["2025-01-01 08:00"], utc=True)})
    assert odd.untrained_entries(trades, preds, pd.Timedelta(hours=4)) == 0
    assert odd.untrained_entries(trades, preds.assign(do_predict=[1, 0]),
                                 pd.Timedelta(hours=4)) == 1
