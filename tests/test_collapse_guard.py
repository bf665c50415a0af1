"""The collapse guard (strategy_columns.collapsing, the strategy's buy option collapse_guard,
off by default; docs/rules/guard-rule.md): no entry on a pair whose matured predictions say
it left the market the model's downward band describes. Hand-made candles and bands."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from strategy_support import load_strategy_module

from self_learning.strategy.strategy_columns import (
    EntryRules,
    binomial_tail,
    collapse_window,
    collapsing,
    entry_filters,
)

H = 4
FALL_AT = 150


def candles(n: int = 300, fall: float = 0.05, band: float = -0.01) -> pd.DataFrame:
    """Hourly candles drifting with noise of 0.2 % a candle, falling `fall` a candle (log) from
    row FALL_AT on; every prediction usable with a downward band `band`."""
    rng = np.random.default_rng(0)
    step = rng.normal(0.0, 0.002, n)
    step[FALL_AT:] -= fall
    close = 100 * np.exp(np.cumsum(step))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame({
        "date": pd.date_range("2024-12-01", periods=n, freq="h", tz="UTC"),
        "open": open_, "high": np.maximum(open_, close) * 1.001,
        "low": np.minimum(open_, close) * 0.999, "close": close, "volume": 1e3,
        "do_predict": 1, "&-s_close": 0.004, "&-novelty": 0.0, "&-liq_down": band})


def test_the_window_is_the_shortest_a_test_at_the_level_can_reject_on():
    """m = ceil(ln alpha / ln(1 - coverage)): 7 for a central band and alpha 0.01 (1/2**7 =
    0.0078 <= 0.01 < 1/2**6), 5 for 0.05."""
    assert collapse_window(0.5, 0.01) == 7
    assert collapse_window(0.5, 0.05) == 5
    assert collapse_window(0.5, 1 / 128) == 7


def test_the_binomial_tail_is_the_chance_of_at_least_that_many_breaks():
    np.testing.assert_allclose(
        binomial_tail(np.array([7, 6, 0, 1]), np.array([7, 7, 7, 1]), 0.5),
        [1 / 128, 8 / 128, 1.0, 0.5])


@pytest.mark.parametrize("guard", ["band_broken", "persistent_fall"])
def test_a_pair_within_its_band_is_never_blocked(guard):
    """Candles whose moves stay inside the band (no fall): no row blocked."""
    assert not collapsing(candles(fall=0.0), H, guard).any()


def test_band_broken_blocks_once_the_last_seven_windows_all_broke():
    """A fall of 5 % a candle against a band of -1 %: the first row blocked is the first at
    which the predictions made H, 2H, ..., 7H candles before all broke below the band (those
    from FALL_AT - H on), and every later row of the fall stays blocked."""
    blocked = collapsing(candles(), H, "band_broken").to_numpy()
    first = FALL_AT - H + 7 * H
    assert not blocked[:first].any()
    assert blocked[first:].all()


def test_band_broken_does_not_count_unusable_predictions():
    """With one of the seven predictions unusable the test has six draws and cannot reject
    at 0.01 (1/64): the row that was blocked is not."""
    df = candles()
    first = FALL_AT - H + 7 * H
    df.loc[first - 2 * H, "do_predict"] = 0
    assert not collapsing(df, H, "band_broken").iloc[first]


def test_persistent_fall_blocks_once_the_fall_exceeds_the_bands_end_to_end():
    """Blocked from the first row whose fall over the last 7H candles is below seven bands
    of -1 % laid end to end (7 ln 0.99): two candles of a 5 % fall (on 0.2 % noise)."""
    df = candles()
    blocked = collapsing(df, H, "persistent_fall").to_numpy()
    fall = np.log(df["close"] / df["close"].shift(7 * H)).to_numpy()
    expected = fall < 7 * np.log(0.99)
    np.testing.assert_array_equal(blocked, expected)
    assert blocked[FALL_AT + 1:].all() and not blocked[:FALL_AT].any()


def test_persistent_fall_needs_every_band_known():
    df = candles()
    df.loc[FALL_AT + 10 - 3 * H, "do_predict"] = 0
    assert not collapsing(df, H, "persistent_fall").iloc[FALL_AT + 10]


@pytest.mark.parametrize("guard", ["band_broken", "persistent_fall"])
def test_no_row_looks_ahead(guard):
    """A row's value does not change when every later candle changes."""
    df = candles()
    row = FALL_AT + 40
    later = df.copy()
    later.loc[row + 1:, ["open", "high", "low", "close"]] *= 3.0
    later.loc[row + 1:, "&-liq_down"] = -0.5
    np.testing.assert_array_equal(collapsing(df, H, guard).to_numpy()[:row + 1],
                                  collapsing(later, H, guard).to_numpy()[:row + 1])


def test_the_strategy_keeps_the_guard_off_by_default_and_applies_it_when_on(monkeypatch):
    """Off by default (no entry rule added); "band_broken" adds the mask, so the fall's
    signals after the guard blocks do not enter."""
    strategy = load_strategy_module().SelfLearningStrategy({})
    strategy.horizon = H
    df = candles()
    assert strategy.collapse_guard.value == "off" and EntryRules().collapse_guard == "off"
    assert not any("collapsing" in name for name in entry_filters(df, strategy.entry_rules()))
    plain = strategy.populate_entry_trend(df.copy(), {"pair": "ETC/BTC"})["enter_long"]
    monkeypatch.setattr(strategy.collapse_guard, "value", "band_broken")
    guarded = strategy.populate_entry_trend(df.copy(), {"pair": "ETC/BTC"})["enter_long"]
    first = FALL_AT - H + 7 * H
    assert (plain.iloc[first:] == 1).all()
    assert guarded.iloc[first:].isna().all() and (guarded.iloc[:first] == 1).all()
