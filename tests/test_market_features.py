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
    # Candles without gaps: the plain rolling windows, bit for bit.
    np.testing.assert_array_equal(frame["%-basket_ret_1"], basket.to_numpy())
    np.testing.assert_array_equal(frame["%-basket_ret_6"], basket.rolling(6).sum().to_numpy())
    np.testing.assert_array_equal(frame["%-btc_ret_24"],
                                  logs["BTC/USDT"].rolling(24).sum().to_numpy())
    np.testing.assert_array_equal(frame["%-basket_vol_3"],
                                  np.log(basket.rolling(3).std().to_numpy() + 1e-12))
    np.testing.assert_array_equal(frame["%-rel_ret_3"],
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


def traded(dates, close) -> pd.DataFrame:
    """Candles that traded at `close` (a range around it, volume 1)."""
    close = np.asarray(close, dtype=np.float64)
    return pd.DataFrame({"date": dates, "open": close, "high": close * 1.01,
                         "low": close * 0.99, "close": close, "volume": 1.0})


def test_closes_by_date_unions_frames_and_the_later_frame_wins():
    dates = pd.date_range("2025-01-01", periods=4, freq="1h", tz="UTC")
    history = traded(dates[:3], [1.0, 2.0, 3.0])
    latest = traded(dates[2:], [3.5, 4.0])
    merged = closes_by_date([history, latest])
    assert merged.tolist() == [1.0, 2.0, 3.5, 4.0]
    assert merged.index.equals(pd.DatetimeIndex(dates, name="date"))
    assert closes_by_date([None, pd.DataFrame()]).empty


def test_closes_by_date_has_no_close_where_the_candle_is_not_observed():
    """Filled (flat, volume 0) and broken candles are not market observations
    (observed_rows): NaN, so no return starts or ends there."""
    dates = pd.date_range("2025-01-01", periods=4, freq="1h", tz="UTC")
    candles = traded(dates, [1.0, 2.0, 3.0, 4.0])
    candles.loc[1, ["open", "high", "low", "close", "volume"]] = (1.0, 1.0, 1.0, 1.0, 0.0)
    candles.loc[2, "low"] = 9.0  # low above high: broken
    np.testing.assert_array_equal(closes_by_date([candles]), [1.0, np.nan, np.nan, 4.0])


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


@pytest.mark.parametrize(("timeframe_s", "expected"), [
    (900, (1, 4, 24, 96)), (7200, (1, 3, 6, 12)), (14400, (1, 3, 6)),
    (86400, (1, 3, 6)), (604800, (1, 3, 6)),
])
def test_windows_are_distinct_whole_candles_at_any_timeframe(timeframe_s, expected):
    """Above 1h the floors (3 and 6 candles) meet the day: each window once (1d's day is
    the one-candle window; before, (1, 1, 3, 6)), never a window of 0 candles (1w's day;
    before, (1, 0, 3, 6): a column of zero sums)."""
    assert market_windows(timeframe_s) == expected


# -- candles that are not market observations ------------------------------------------------

GAP = slice(100, 112)  # 12 candles
AFTER = 112            # the first traded candle after them: its return spans the gap


def candle_frames(n: int = 200) -> dict[str, pd.DataFrame]:
    return {p: traded(c.index, c.to_numpy()) for p, c in closes(n).items()}


def freqtrade_filled(candles: pd.DataFrame) -> pd.DataFrame:
    """The candles of GAP removed and filled back the way freqtrade loads them (flat at the
    last close, volume 0)."""
    from freqtrade.data.converter import ohlcv_fill_up_missing_data

    kept = candles.drop(index=candles.index[GAP]).reset_index(drop=True)
    return ohlcv_fill_up_missing_data(kept, "1h", "SOL/USDT")


def flat(candles: pd.DataFrame) -> pd.DataFrame:
    """The candles of GAP flat at the last close with volume 0 (a halt)."""
    out = candles.copy()
    last = out.loc[GAP.start - 1, "close"]
    out.loc[out.index[GAP], ["open", "high", "low", "close", "volume"]] = (
        last, last, last, last, 0.0)
    return out


def missing(candles: pd.DataFrame) -> pd.DataFrame:
    """The candles of GAP absent (not filled)."""
    return candles.drop(index=candles.index[GAP]).reset_index(drop=True)


@pytest.mark.parametrize("damage", [freqtrade_filled, flat, missing])
def test_a_pair_without_candles_is_left_out_of_the_basket(damage):
    """SOL's 12 unobserved candles leave the basket the mean of BTC's and ETH's returns there,
    not a zero return of SOL's; at the traded candle after them SOL's return is the one since
    its last close before the gap (as the model's own windows take it, like Monday's after a
    weekend), and every other date keeps SOL in. SOL's relative return is NaN at the 12 only,
    and its windows reach back over the dates where it has one."""
    frames = candle_frames()
    frames["SOL/USDT"] = damage(frames["SOL/USDT"])
    data = {p: closes_by_date([f]) for p, f in frames.items()}
    frame = columns(data, "SOL/USDT", dates=frames["ETH/USDT"]["date"])
    logs = np.log(pd.DataFrame({p: c for p, c in closes().items()})).diff()
    gap = np.r_[GAP]
    np.testing.assert_allclose(frame["%-basket_ret_1"].iloc[gap],
                               logs[["BTC/USDT", "ETH/USDT"]].mean(axis=1).iloc[gap],
                               rtol=1e-12)
    spanning = logs["SOL/USDT"].iloc[GAP.start:AFTER + 1].sum()  # log(close[AFTER] / before)
    basket_after = (logs["BTC/USDT"].iloc[AFTER] + logs["ETH/USDT"].iloc[AFTER] + spanning) / 3
    assert frame["%-basket_ret_1"].iloc[AFTER] == pytest.approx(basket_after, rel=1e-12)
    inside = np.setdiff1d(np.r_[1:200], np.r_[GAP.start:AFTER + 1])
    np.testing.assert_allclose(frame["%-basket_ret_1"].iloc[inside],
                               logs.mean(axis=1).iloc[inside], rtol=1e-12)
    assert frame["%-rel_ret_1"].iloc[gap].isna().all()
    assert frame["%-rel_ret_1"].iloc[AFTER] == pytest.approx(spanning - basket_after, rel=1e-12)
    assert frame.drop(columns=[c for c in frame if "rel_ret" in c]).iloc[30:].notna().all().all()
    relative = (logs["SOL/USDT"] - frame["%-basket_ret_1"].to_numpy()).to_numpy().copy()
    relative[AFTER] = spanning - basket_after
    assert frame["%-rel_ret_3"].iloc[AFTER + 1] == pytest.approx(
        relative[[GAP.start - 1, AFTER, AFTER + 1]].sum(), rel=1e-12)
    assert frame.iloc[AFTER:].notna().all().all()


def test_one_pair_with_a_gap_gives_nan_there_which_the_model_skips():
    """A market of one pair: no return at the 12 filled candles, so every market column is
    NaN there (windows reach back over the traded candles afterwards), and the candle after
    them has the return spanning them. Nothing non-finite reaches the model: the 12 rows are
    not input_ok and are counted as skipped no-trade candles, their features zeros; every
    traded candle is usable."""
    from self_learning.candles.frames import candles_from_frame
    from self_learning.candles.samples import prepare, skip_counts

    candles = freqtrade_filled(candle_frames()["ETH/USDT"])
    data = {"ETH/USDT": closes_by_date([candles])}
    frame = market_columns(candles["date"], "ETH/USDT", data, ["ETH/USDT"], None, WINDOWS)
    unobserved = np.zeros(len(frame), bool)
    unobserved[GAP] = True
    assert frame[unobserved].isna().all().all()
    assert frame.iloc[30:][~unobserved[30:]].notna().all().all()
    block = candles_from_frame(candles.join(frame), list(frame.columns))  # the model's input
    samples = prepare(block, window=8, horizon=4, proxy=False)
    assert np.isfinite(samples.features).all() and np.isfinite(samples.windows).all()
    assert not samples.input_ok[unobserved].any()
    assert samples.input_ok[30:][~unobserved[30:]].all()
    skips = skip_counts(block, samples, 0, 8)
    assert (skips.no_trade, skips.nan_feature) == (12, 0)
