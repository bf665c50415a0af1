"""Markets unlike the shipped pairs (benchmarks/other_markets.py; docs/operations.md "Other
markets"): a pair standing still keeps every feature, and the benchmark's markets are the
transformations it says they are (no freqtrade run)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from benchmark_support import load_benchmark

from self_learning.strategy.strategy_columns import band_position

bench = load_benchmark("other_markets")
BEGIN, END = pd.Timestamp("2024-12-01", tz="UTC"), pd.Timestamp("2024-12-22", tz="UTC")


def test_a_band_without_width_puts_the_close_in_its_middle():
    """%B is 0 at the lower band and 1 at the upper; a band of equal closes (width 0) puts
    the close in its middle, 0.5, not NaN; a band not there yet (warm-up) stays NaN."""
    close = pd.Series([np.nan, 11.0, 12.0, 10.0, 5.0])
    lower = pd.Series([np.nan, 10.0, 10.0, 10.0, 5.0])
    upper = pd.Series([np.nan, 12.0, 12.0, 10.0, 5.0])
    got = band_position(close, lower, upper).to_numpy()
    assert np.isnan(got[0])
    np.testing.assert_array_equal(got[1:], [0.5, 1.0, 0.5, 0.5])


@pytest.fixture(scope="module")
def strategy():
    from strategy_support import load_strategy_module

    strat = load_strategy_module().SelfLearningStrategy({})
    strat.freqai_info = {"feature_parameters": {"label_period_candles": 4}}
    return strat


def test_a_pair_standing_still_keeps_every_feature(strategy):
    """A stablecoin's (or a coarse-tick pair's) closes equal for 30 traded hours: after the
    indicators' warm-up every feature of every period is finite, so FreqAI and the model
    predict and learn those candles (a NaN %B dropped a third of a stablecoin's candles)."""
    dates = pd.Series(pd.date_range("2024-11-01", periods=120, freq="h", tz="UTC"))
    close = np.r_[1.0 + 1e-4 * (np.arange(90) % 3 - 1), np.full(30, 1.0)]
    frame = pd.DataFrame({"date": dates, "open": close, "high": close + 1e-4,
                          "low": close - 1e-4, "close": close, "volume": 1e6})
    for period in (10, 20):  # FreqAI names each period's columns afterwards
        out = strategy.feature_engineering_expand_all(frame.copy(), period, metadata={})
        out = strategy.feature_engineering_expand_basic(out, metadata={})
        features = out.filter(like="%-").iloc[60:]
        finite = np.isfinite(features.to_numpy(float))
        assert finite.all(), (period, features.columns[~finite.all(axis=0)].tolist())
        assert (out["%-bb_pctb-period"].iloc[-5:] == 0.5).all()


def test_the_stablecoin_barely_moves_and_sometimes_does_not_trade():
    """Closes within two ticks of 1, a tenth of the candles flat at the last close with zero
    volume (nothing traded), many candles repeating the last one, prices on 4 decimals."""
    dates = pd.Series(pd.date_range("2024-10-01", periods=2000, freq="h", tz="UTC"))
    coin = bench.stablecoin(dates)
    prices = coin[["open", "high", "low", "close"]]
    assert (prices.sub(1.0).abs() <= 3e-4 + 1e-12).all().all()
    assert (coin["high"] >= prices.max(axis=1)).all() and (coin["low"] <= prices.min(
        axis=1)).all()
    idle = coin["volume"] == 0
    assert 0.05 < idle.mean() < 0.15
    assert (coin.loc[idle, "open"] == coin.loc[idle, "close"]).all()
    assert (coin["open"].iloc[1:].to_numpy() == coin["close"].iloc[:-1].to_numpy()).all()
    repeated = (prices.diff().abs().sum(axis=1) == 0).mean()
    assert repeated > 0.2
    np.testing.assert_array_equal(prices.to_numpy(), prices.round(4).to_numpy())


def test_the_pinned_stablecoin_trades_at_one_with_a_daily_wick():
    dates = pd.Series(pd.date_range("2024-10-01", periods=48, freq="h", tz="UTC"))
    coin = bench.pinned(dates)
    assert (coin[["open", "high", "close"]] == 1.0).all().all() and (coin["volume"] > 0).all()
    assert coin["low"].tolist().count(1.0 - bench.TICK) == 2


def frames(days: int = 90) -> dict[str, pd.DataFrame]:
    dates = pd.date_range(BEGIN - pd.Timedelta(days=days - 30), periods=24 * days, freq="h",
                          tz="UTC")
    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(dates))))
    frame = pd.DataFrame({"date": dates, "open": close, "high": close * 1.01,
                          "low": close * 0.99, "close": close, "volume": 1e3})
    return {p: frame.copy() for p in bench.PAIRS}


def test_the_cases_change_only_what_they_say(tmp_path):
    """scale: SOL's prices x1e-8 and ETH's x1e4 (volumes divided), the returns unchanged;
    young: ETH's history starts --history-days before the backtest, SOL is listed
    --listed-days into it; delisted: SOL ends there; crash: SOL at 1e-3 of its price from 3
    days after that (the same money traded); illiquid: 40 % of SOL's candles flat, no volume;
    gaps: --gap-hours and two single hours of SOL gone; flat: SOL replaced by the stablecoin;
    depeg: the stablecoin 8 % down there and back within 2 days, unchanged elsewhere."""
    for pair, frame in frames().items():
        name = bench.pair_filename(pair, "1h")
        frame.to_feather(tmp_path / name)
    args = argparse.Namespace(history_days=10, listed_days=10, gap_hours=6)
    base = bench.case_candles("base", tmp_path, BEGIN, END, args)
    scaled = bench.case_candles("scale", tmp_path, BEGIN, END, args)
    for pair, scale in bench.SCALES.items():
        np.testing.assert_allclose(scaled[pair]["close"] / base[pair]["close"], scale,
                                   rtol=1e-11)
        np.testing.assert_allclose(scaled[pair]["close"].pct_change(),
                                   base[pair]["close"].pct_change(), atol=1e-10)
    young = bench.case_candles("young", tmp_path, BEGIN, END, args)
    assert young["ETH/USDT"]["date"].min() == BEGIN - pd.Timedelta(days=10)
    assert young["SOL/USDT"]["date"].min() == BEGIN + pd.Timedelta(days=10)
    assert young["BTC/USDT"].equals(base["BTC/USDT"])
    delisted = bench.case_candles("delisted", tmp_path, BEGIN, END, args)
    assert delisted["SOL/USDT"]["date"].max() == BEGIN + pd.Timedelta(days=10, hours=-1)
    crash = bench.case_candles("crash", tmp_path, BEGIN, END, args)["SOL/USDT"]
    after = crash["date"] >= BEGIN + pd.Timedelta(days=13)
    np.testing.assert_allclose(crash.loc[after, "close"] / base["SOL/USDT"].loc[after, "close"],
                               1e-3, rtol=1e-10)
    np.testing.assert_allclose((crash["close"] * crash["volume"])[after],
                               (base["SOL/USDT"]["close"] * base["SOL/USDT"]["volume"])[after],
                               rtol=1e-10)
    thin = bench.case_candles("illiquid", tmp_path, BEGIN, END, args)["SOL/USDT"]
    idle = thin["volume"] == 0
    assert 0.35 < idle.mean() < 0.45 and (thin.loc[idle, "high"] == thin.loc[idle, "low"]).all()
    assert thin[~idle].equals(base["SOL/USDT"][~idle])
    gaps = bench.case_candles("gaps", tmp_path, BEGIN, END, args)["SOL/USDT"]
    assert len(base["SOL/USDT"]) - len(gaps) == 6 + 2
    flat = bench.case_candles("flat", tmp_path, BEGIN, END, args)
    assert set(flat) == {"BTC/USDT", "ETH/USDT", bench.STABLE}
    coin, depeg = flat[bench.STABLE], bench.case_candles("depeg", tmp_path, BEGIN, END,
                                                         args)[bench.STABLE]
    start = BEGIN + pd.Timedelta(days=10)
    away = (coin["date"] < start) | (coin["date"] > start + pd.Timedelta(hours=51))
    assert depeg[away].equals(coin[away])
    assert 0.91 < depeg["low"].min() < 0.93


def test_the_bleed_takes_eth_to_five_percent_over_a_week(tmp_path):
    """bleed: ETH's prices log-linearly from 1 to 0.05 of the real ones over 168 hours from 7
    days into the backtest (half the fall in log at 84 hours), 0.05 after, the same money
    traded; BTC and SOL untouched."""
    for pair, frame in frames().items():
        frame.to_feather(tmp_path / bench.pair_filename(pair, "1h"))
    args = argparse.Namespace(history_days=10, listed_days=10, gap_hours=6)
    base = bench.case_candles("base", tmp_path, BEGIN, END, args)
    bleed = bench.case_candles("bleed", tmp_path, BEGIN, END, args)
    assert bleed["BTC/USDT"].equals(base["BTC/USDT"]) and bleed["SOL/USDT"].equals(
        base["SOL/USDT"])
    eth, real = bleed["ETH/USDT"], base["ETH/USDT"]
    hours = (eth["date"] - (BEGIN + pd.Timedelta(days=7))) / pd.Timedelta(hours=1)
    level = (eth["close"] / real["close"]).to_numpy()
    np.testing.assert_allclose(level[hours <= 0], 1.0, rtol=1e-11)
    np.testing.assert_allclose(level[hours == 84], np.sqrt(0.05), rtol=1e-10)
    np.testing.assert_allclose(level[hours >= 168], 0.05, rtol=1e-10)
    assert (np.diff(level[(hours >= 0) & (hours <= 168)]) < 0).all()
    np.testing.assert_allclose(eth["close"] * eth["volume"], real["close"] * real["volume"],
                               rtol=1e-10)
    assert bench.case_timerange("bleed", None) == "20250103-20250124"
    assert bench.case_timerange("crash", None) == bench.TIMERANGE
