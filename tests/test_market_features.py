"""The market features (self_learning.strategy.market_features): the basket of the whitelist and BTC
as features of every pair, merged by date, never ahead of time."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from self_learning.strategy.market_features import (
    btc_pair,
    closes_by_date,
    market_columns,
    market_windows,
)

PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT")
WINDOWS = (1, 3, 6, 24)


def closes(n: int = 200, seed: int = 0, start: str = "2025-01-01") -> dict[str, pd.Series]:
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, periods=n, freq="1h", tz="UTC")
    return {p: pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), index=dates)
            for p in PAIRS}


def columns(data: dict[str, pd.Series], pair: str = "ETH/USDT",
            dates: pd.Series | None = None) -> pd.DataFrame:
    dates = pd.Series(data[pair].index) if dates is None else dates
    return market_columns(dates, pair, data, PAIRS, "BTC/USDT", WINDOWS)


def test_basket_is_the_equal_weight_mean_of_log_returns_and_btc_is_btc():
    data = closes()
    frame = columns(data)
    logs = pd.DataFrame({p: np.log(c).diff() for p, c in data.items()})
    basket = logs.mean(axis=1)
    np.testing.assert_allclose(frame["%-basket_ret_1"], basket.to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(frame["%-basket_ret_6"], basket.rolling(6).sum().to_numpy())
    np.testing.assert_allclose(frame["%-btc_ret_24"],
                               logs["BTC/USDT"].rolling(24).sum().to_numpy())
    np.testing.assert_allclose(frame["%-basket_vol_3"],
                               np.log(basket.rolling(3).std().to_numpy() + 1e-12))
    np.testing.assert_allclose(frame["%-rel_ret_3"],
                               (logs["ETH/USDT"] - basket).rolling(3).sum().to_numpy())
    assert "%-basket_vol_1" not in frame  # volatility needs 3 candles or more
    assert frame.iloc[30:].notna().all().all()


def test_changing_a_future_candle_does_not_change_past_rows():
    data = closes()
    before = columns(data)
    cut = data["SOL/USDT"].index[120]
    changed = {p: c.copy() for p, c in data.items()}
    changed["SOL/USDT"].loc[cut:] *= 1.5  # a jump at `cut` and a different path after it
    after = columns(changed)
    past = before.index < 120
    pd.testing.assert_frame_equal(before[past], after[past])
    assert not np.allclose(before.loc[120, "%-basket_ret_1"], after.loc[120, "%-basket_ret_1"])


def test_rows_are_merged_by_date_not_by_position():
    data = closes()
    late = {**data, "SOL/USDT": data["SOL/USDT"].iloc[50:]}  # SOL listed later
    dates = pd.Series(data["ETH/USDT"].index[100:140]).sample(frac=1.0, random_state=1)
    frame = columns(late, dates=dates.reset_index(drop=True))
    full = columns(late).set_index(data["ETH/USDT"].index)
    expected = full.loc[pd.DatetimeIndex(dates)].to_numpy()
    np.testing.assert_array_equal(frame.to_numpy(), expected)
    before_listing = columns(late).iloc[10]
    logs = np.log(pd.DataFrame(data)).diff().iloc[10]
    assert before_listing["%-basket_ret_1"] == pytest.approx(
        logs[["BTC/USDT", "ETH/USDT"]].mean())  # the pairs that had a candle


def test_a_date_no_close_covers_is_nan():
    data = closes()
    later = pd.Series(pd.date_range("2026-01-01", periods=3, freq="1h", tz="UTC"))
    assert columns(data, dates=later).isna().all().all()


def test_missing_closes_are_an_error_naming_the_pair():
    data = closes()
    del data["SOL/USDT"]
    with pytest.raises(KeyError, match="no closes for SOL/USDT"):
        columns(data)


def test_without_btc_there_are_no_btc_columns():
    data = closes()
    frame = market_columns(pd.Series(data["ETH/USDT"].index), "ETH/USDT", data, PAIRS, None,
                           WINDOWS)
    assert not [c for c in frame if "btc" in c]
    assert "%-basket_ret_24" in frame


def test_closes_by_date_unions_frames_and_the_later_frame_wins():
    dates = pd.date_range("2025-01-01", periods=4, freq="1h", tz="UTC")
    history = pd.DataFrame({"date": dates[:3], "close": [1.0, 2.0, 3.0]})
    latest = pd.DataFrame({"date": dates[2:], "close": [3.5, 4.0]})
    merged = closes_by_date([history, latest])
    assert merged.tolist() == [1.0, 2.0, 3.5, 4.0]
    assert merged.index.equals(pd.DatetimeIndex(dates, name="date"))
    assert closes_by_date([None, pd.DataFrame()]).empty


@pytest.mark.parametrize(("whitelist", "corr", "expected"), [
    (("ETH/USDT", "BTC/USDT"), (), "BTC/USDT"),
    (("ETH/USDT",), ("SOL/USDT", "BTC/USDT"), "BTC/USDT"),
    (("ETH/BTC", "ADA/BTC"), (), None),
])
def test_btc_pair_comes_from_the_whitelist_then_the_corr_pairlist(whitelist, corr, expected):
    assert btc_pair(whitelist, corr) == expected


def test_windows_are_an_hour_a_quarter_day_and_a_day_of_the_timeframe():
    assert market_windows(3600) == (1, 3, 6, 24)
    assert market_windows(300) == (1, 12, 72, 288)
