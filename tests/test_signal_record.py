"""The signal record (self_learning.strategy.signal_record) and its entry filter
(use_signal_record): what the pair's own matured signal candles realized, known only once
they matured, stops entries after the signals stop earning and lets them resume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from strategy_support import load_strategy_module

from self_learning.strategy.signal_record import matured_signals, signal_record
from self_learning.strategy.strategy_columns import EntryRules, entry_filters

H = 4


def candles(closes) -> pd.DataFrame:
    closes = np.asarray(closes, dtype=float)
    return pd.DataFrame({
        "date": pd.date_range("2025-01-01", periods=len(closes), freq="1h", tz="UTC"),
        "open": closes, "high": closes * 1.001, "low": closes * 0.999, "close": closes,
        "volume": 1.0, "do_predict": 1, "&-s_close": 0.01, "&-novelty": 0.0})


def test_an_outcome_counts_on_the_row_where_it_is_known():
    """A signal at row s scores close[s + H] / close[s] - 1 on row s + H, not before."""
    df = candles(100 * 1.01 ** np.arange(20))
    signals = pd.Series(False, index=df.index)
    signals[3] = True
    matured = matured_signals(df, signals, H)
    assert matured.notna().sum() == 1
    assert matured[3 + H] == pytest.approx(1.01 ** H - 1)


def test_the_record_is_the_mean_of_the_last_count_matured_signals():
    rng = np.random.default_rng(1)
    df = candles(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 200))))
    signals = pd.Series(rng.random(200) < 0.3, index=df.index)
    record = signal_record(df, signals, H, 5)
    close = df["close"]
    held = (close.shift(-H) / close - 1)[signals]
    known = held[held.index + H <= 150].dropna()
    assert record[150] == pytest.approx(known.iloc[-5:].mean())
    first = known.index[4] + H  # the row on which the fifth signal matured
    assert record[:first].isna().all()
    assert record[first:].notna().all()  # rows without a matured signal keep the last mean


def test_the_record_uses_only_past_candles():
    rng = np.random.default_rng(2)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 300)))
    df = candles(closes)
    signals = pd.Series(rng.random(300) < 0.3, index=df.index)
    later = closes.copy()
    later[200:] *= np.exp(rng.normal(0, 0.05, 100))
    before = signal_record(df, signals, H, 8)
    after = signal_record(candles(later), signals, H, 8)
    pd.testing.assert_series_equal(before[:200], after[:200])


def losing_then_winning() -> pd.DataFrame:
    """Every candle predicts +1 %: 100 candles rising 1 % each, 100 falling 1 % each, 100
    rising again."""
    steps = np.r_[np.full(100, 0.01), np.full(100, -0.01), np.full(100, 0.01)]
    return candles(100 * np.exp(np.cumsum(steps)))


def test_signals_that_stopped_earning_stop_entries_until_they_earn_again():
    """The record scores every candle the other rules fired on, entered or not, so it
    blocks while the signals lose and lets entries resume once they earn again."""
    df = losing_then_winning()
    rules = EntryRules(use_signal_record=True, record_signals=6, horizon=H,
                       round_trip_fee=0.002)
    masks = entry_filters(df, rules)
    allowed = list(masks.values())[-1]
    assert "matured signals" in list(masks)[-1]
    assert allowed[:100].all()  # unknown, then the rising candles' signals earned
    assert not allowed[110:200].any()
    assert allowed[220:].all()
    assert entry_filters(df, EntryRules(horizon=H, round_trip_fee=0.002)).keys() == (
        masks.keys() - {list(masks)[-1]})


def test_the_bar_is_the_round_trip_plus_the_margin():
    """Signals realizing +0.1 % pass a bar of 0 (margin -0.2 %) and not the 0.2 % round trip."""
    df = candles(100 * np.exp(np.arange(200) * 0.001 / H))
    for margin, passes in ((0.0, False), (-0.002, True)):
        rules = EntryRules(use_signal_record=True, record_signals=6, horizon=H,
                           round_trip_fee=0.002, record_margin=margin)
        assert list(entry_filters(df, rules).values())[-1][50:].all() == passes


def test_the_strategy_passes_its_parameters_and_horizon():
    strategy = load_strategy_module().SelfLearningStrategy({})
    strategy.horizon = 4  # as config.json's 1h setup (the class's own default is 12)
    rules = strategy.entry_rules()
    assert (rules.use_signal_record, rules.record_signals, rules.record_margin,
            rules.horizon) == (False, 24, 0.0, 4)
