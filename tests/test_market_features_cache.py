"""The strategy computes the basket once per set of candles (market_features.BasketCache): every
pair of the whitelist gets the columns the uncached formula gives, from one basket, and a new
candle of any pair makes a new basket."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from strategy_support import load_strategy_module

from self_learning.strategy.market_features import basket_of as _basket_of
from self_learning.strategy.market_features import market_columns, market_windows

PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT"]


def candle_frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    return pd.DataFrame({"date": pd.date_range("2025-01-01", periods=n, freq="5min", tz="UTC"),
                         "open": close, "high": close, "low": close, "close": close,
                         "volume": 1.0})


class FakeProvider:
    """The two calls the strategy's basket makes of freqtrade's DataProvider; like the
    backtesting one, it hands out a copy of each frame."""

    def __init__(self, frames: dict[str, pd.DataFrame]):
        self.frames = frames

    def current_whitelist(self) -> list[str]:
        return list(self.frames)

    def get_pair_dataframe(self, pair: str, timeframe: str) -> pd.DataFrame:
        return self.frames[pair].copy()


@pytest.fixture
def module():
    return load_strategy_module()


def strategy_with(module, frames):
    strategy = module.SelfLearningStrategy({})
    strategy.dp = FakeProvider(frames)
    return strategy


def uncached(frames: dict[str, pd.DataFrame], pair: str) -> pd.DataFrame:
    closes = {p: f.set_index("date")["close"].astype(np.float64) for p, f in frames.items()}
    return market_columns(frames[pair]["date"], pair, closes, PAIRS, "BTC/USDT",
                          market_windows(300))


def test_every_pair_gets_the_uncached_columns_from_one_basket(module, monkeypatch):
    frames = {p: candle_frame(600, seed) for seed, p in enumerate(PAIRS)}
    strategy = strategy_with(module, frames)
    computed = []
    monkeypatch.setattr(module, "basket_of", lambda *a: computed.append(a) or _basket_of(*a))
    for pair in PAIRS:
        got = strategy.market_columns(frames[pair], pair)
        pd.testing.assert_frame_equal(got, uncached(frames, pair), check_exact=True)
    assert len(computed) == 1  # one basket for the four pairs


def test_a_new_candle_of_any_pair_makes_a_new_basket(module, monkeypatch):
    frames = {p: candle_frame(600, seed) for seed, p in enumerate(PAIRS)}
    strategy = strategy_with(module, frames)
    computed = []
    monkeypatch.setattr(module, "basket_of", lambda *a: computed.append(a) or _basket_of(*a))
    before = strategy.market_columns(frames["ETH/USDT"], "ETH/USDT")

    longer = candle_frame(601, seed=PAIRS.index("SOL/USDT"))  # SOL's next candle arrives
    longer.loc[600, "close"] *= 1.05
    frames["SOL/USDT"] = longer
    eth = frames["ETH/USDT"]
    after = strategy.market_columns(eth, "ETH/USDT")
    assert len(computed) == 2
    pd.testing.assert_frame_equal(after, uncached(frames, "ETH/USDT"), check_exact=True)
    pd.testing.assert_frame_equal(after, before, check_exact=True)  # ETH's dates: same values
    sol = strategy.market_columns(longer, "SOL/USDT")
    assert len(computed) == 2  # the other pairs share the new basket
    pd.testing.assert_frame_equal(sol, uncached(frames, "SOL/USDT"), check_exact=True)
    assert sol["%-basket_ret_1"].iloc[-1] > 0.04  # the new candle is in it (alone that date)


def test_a_flat_stretch_is_left_out_of_the_basket_like_candles_never_seen(module):
    """The strategy's path (candles -> closes_by_date -> basket): SOL's 12 flat zero-volume
    candles (a halt, or a gap freqtrade filled) give every pair the columns of a market where
    SOL has no candles there, not a zero return of SOL's."""
    frames = {p: candle_frame(600, seed) for seed, p in enumerate(PAIRS)}
    halt = slice(300, 312)
    sol = frames["SOL/USDT"]
    sol.loc[sol.index[halt], ["open", "high", "low", "close"]] = sol.loc[299, "close"]
    sol.loc[sol.index[halt], "volume"] = 0.0
    got = strategy_with(module, frames).market_columns(frames["ETH/USDT"], "ETH/USDT")
    unseen = {**frames, "SOL/USDT": sol.drop(index=sol.index[halt])}
    pd.testing.assert_frame_equal(got, uncached(unseen, "ETH/USDT"), check_exact=True)
    as_zero = uncached(frames, "ETH/USDT")  # SOL's flat closes taken as returns
    assert not np.allclose(got["%-basket_ret_1"].iloc[halt], as_zero["%-basket_ret_1"].iloc[halt])


def test_the_strategy_survives_pickling_for_parallel_hyperopt(module, monkeypatch):
    """freqtrade's hyperopt with more than one job (its default, `-j -1`) pickles the strategy
    into its workers with cloudpickle: the basket cache's lock must not stop it, and the copy
    starts with an empty cache of its own that still computes the uncached columns."""
    cloudpickle = pytest.importorskip("cloudpickle")
    frames = {p: candle_frame(600, seed) for seed, p in enumerate(PAIRS)}
    strategy = strategy_with(module, frames)
    strategy.market_columns(frames["BTC/USDT"], "BTC/USDT")  # a basket in the cache
    copy = cloudpickle.loads(cloudpickle.dumps(strategy))
    computed = []
    monkeypatch.setattr(module, "basket_of", lambda *a: computed.append(a) or _basket_of(*a))
    got = copy.market_columns(frames["ETH/USDT"], "ETH/USDT")
    pd.testing.assert_frame_equal(got, uncached(frames, "ETH/USDT"), check_exact=True)


class WhitelistProvider(FakeProvider):
    """A provider whose whitelist is a part of the pairs it has candles of."""

    def __init__(self, frames: dict[str, pd.DataFrame], whitelist: list[str]):
        super().__init__(frames)
        self.whitelist = whitelist

    def current_whitelist(self) -> list[str]:
        return list(self.whitelist)


def test_btc_comes_from_freqais_corr_pairlist_when_it_is_not_whitelisted(module):
    """The strategy reads FreqAI's `include_corr_pairlist` from its config: with BTC only
    there, the BTC columns are computed from BTC's candles; without it there are none."""
    frames = {p: candle_frame(600, seed) for seed, p in enumerate(PAIRS)}
    whitelist = [p for p in PAIRS if p != "BTC/USDT"]
    config = {"freqai": {"feature_parameters": {"include_corr_pairlist": ["BTC/USDT"]}}}
    closes = {p: f.set_index("date")["close"].astype(np.float64) for p, f in frames.items()}
    eth = frames["ETH/USDT"]
    for corr, btc in ((config, "BTC/USDT"), ({}, None)):
        strategy = module.SelfLearningStrategy(corr)
        strategy.dp = WhitelistProvider(frames, whitelist)
        got = strategy.market_columns(eth, "ETH/USDT")
        expected = market_columns(eth["date"], "ETH/USDT", closes, whitelist, btc,
                                  market_windows(300))
        pd.testing.assert_frame_equal(got, expected, check_exact=True)
        assert ("%-btc_ret_1" in got.columns) == (btc is not None)


def test_features_computed_again_on_a_featured_frame_replace_the_market_columns(module):
    """FreqAI's backtest populates a pair's features once for the windows it trains, then,
    at the first window whose stored prediction it reuses, populates them again on the
    already featured frame's last row to check the feature list. Before, joining the market
    columns a second time raised pandas' 'columns overlap but no suffix specified' (a 5m
    backtest of 20250107-20250114 after a 1h one of the same identifier ended in that
    traceback)."""
    frames = {p: candle_frame(600, seed) for seed, p in enumerate(PAIRS)}
    strategy = strategy_with(module, frames)
    once = strategy.feature_engineering_standard(frames["ETH/USDT"].copy(), {"pair": "ETH/USDT"})
    assert any(c.startswith("%-basket_ret") for c in once.columns)
    again = strategy.feature_engineering_standard(once.tail(1).copy(), {"pair": "ETH/USDT"})
    assert list(again.columns) == list(once.columns)
    pd.testing.assert_frame_equal(again, once.tail(1), check_exact=True)
