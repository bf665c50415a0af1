"""SelfLearningStrategy's holding rules (issue 19, docs/hourly.md "Trading the prediction"):
the time exit after `hold_horizons` x H candles of the timeframe, the margin on the fee rule
and the ranking of a signal against the whitelist's expected returns at its candle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from freqtrade.exceptions import OperationalException
from strategy_support import FLAT_PRICES, load_strategy_module

from self_learning.strategy.strategy_columns import among_top, entry_signal_on, hold_candles

OPEN = datetime(2025, 1, 1, 12, tzinfo=UTC)


@pytest.fixture
def module():
    """A fresh load per test: freqtrade's hyperoptable parameters are class attributes, so a
    value set on one instance (strategy_of) would carry into every later test's strategy."""
    return load_strategy_module()


def strategy_of(module, timeframe: str, horizon: int, **params):
    config = {"timeframe": timeframe,
              "freqai": {"enabled": True, "feature_parameters": {"label_period_candles": horizon}}}
    strategy = module.SelfLearningStrategy(config)
    for name, value in params.items():
        getattr(strategy, name).value = value
    return strategy


@pytest.mark.parametrize(("horizon", "hold", "candles"), [
    (4, 1.0, 4), (4, 2.0, 8), (12, 1.0, 12), (4, 0.1, 1), (4, 0.0, 0)])
def test_hold_candles_are_multiples_of_the_horizon(horizon, hold, candles):
    assert hold_candles(horizon, hold) == candles


@pytest.mark.parametrize(("timeframe", "horizon", "hold", "after"), [
    ("1h", 4, 1.0, timedelta(hours=4)),       # H = 4 hourly candles
    ("1h", 4, 2.0, timedelta(hours=8)),
    ("5m", 12, 1.0, timedelta(minutes=60)),   # the same rule on 5m: 12 candles
])
def test_time_exit_after_the_hold_in_candles_of_the_timeframe(module, timeframe, horizon, hold,
                                                              after):
    strategy = strategy_of(module, timeframe, horizon, hold_horizons=hold)
    trade = SimpleNamespace(open_date_utc=OPEN)

    def exit_at(age):
        return strategy.custom_exit("BTC/USDT", trade, OPEN + age, 100.0, 0.0)

    assert exit_at(after - timedelta(minutes=1)) is None
    assert exit_at(after) == "time_exit"
    assert exit_at(after * 3) == "time_exit"


def test_no_time_exit_when_hold_horizons_is_zero(module):
    strategy = strategy_of(module, "1h", 4, hold_horizons=0.0)
    trade = SimpleNamespace(open_date_utc=OPEN)
    assert strategy.custom_exit("BTC/USDT", trade, OPEN + timedelta(days=30), 100.0, 0.0) is None


def signal_frame(signals: list[float]) -> pd.DataFrame:
    """Analyzed 1h candles ending at OPEN + 4h whose `enter_long` column is `signals`."""
    dates = pd.date_range(end=OPEN + timedelta(hours=4), periods=len(signals), freq="1h",
                          tz="UTC")
    return pd.DataFrame({"date": dates, "enter_long": signals})


@pytest.mark.parametrize(("hold_on_signal", "signals", "reason"), [
    (True, [0, 0, 1], None),           # the latest candle signals: the trade is held through
    (True, [1, 1, 0], "time_exit"),    # an earlier signal does not hold it
    (True, [1, 0, np.nan], "time_exit"),  # no signal column value: no signal
    (False, [0, 0, 1], "time_exit"),   # off: the time exit as before
])
def test_hold_on_signal_defers_the_time_exit_while_the_latest_candle_signals(
        module, hold_on_signal, signals, reason):
    strategy = strategy_of(module, "1h", 4, hold_on_signal=hold_on_signal)
    frame = signal_frame(signals)
    strategy.dp = Provider({"BTC/USDT": frame}, upto=frame["date"].iloc[-1])
    trade = SimpleNamespace(open_date_utc=OPEN)
    assert strategy.custom_exit("BTC/USDT", trade, OPEN + timedelta(hours=4), 100.0,
                                0.0) == reason
    # before the hold has passed nothing exits, signal or not
    assert strategy.custom_exit("BTC/USDT", trade, OPEN + timedelta(hours=3), 100.0,
                                0.0) is None


def test_entry_signal_on_reads_the_latest_row_only():
    assert entry_signal_on(signal_frame([0, 1])) is True  # a bool, as annotated
    assert not entry_signal_on(signal_frame([1, 0]))
    assert not entry_signal_on(pd.DataFrame({"date": [OPEN]}))  # not analyzed for entries
    assert not entry_signal_on(signal_frame([]))


def one_signal(expected: float) -> pd.DataFrame:
    """600 5m candles, one standing-out prediction at row 400 whose expected return is
    `expected` (as in test_strategy_fees)."""
    rng = np.random.default_rng(0)
    pred = rng.normal(0.0, 0.0005, 600)
    pred[400] = 0.004
    return pd.DataFrame({"date": pd.date_range("2025-01-01", periods=600, freq="5min", tz="UTC"),
                         **FLAT_PRICES, "volume": 1.0, "do_predict": 1, "&-s_close": pred,
                         "expected_return": expected})


@pytest.mark.parametrize(("margin", "expected", "enters"), [
    (0.0, 0.0025, True),     # clears the 0.2 % round trip
    (0.001, 0.0025, False),  # ... but not the round trip plus the margin
    (0.001, 0.0031, True),
])
def test_fee_margin_raises_what_the_expected_return_must_clear(module, monkeypatch, margin,
                                                              expected, enters):
    strategy = module.SelfLearningStrategy({"fee": 0.001})
    monkeypatch.setattr(strategy.use_expected_return, "value", True)
    monkeypatch.setattr(strategy.fee_margin, "value", margin)
    out = strategy.populate_entry_trend(one_signal(expected), {"pair": "BTC/USDT"})
    got = list(np.flatnonzero(out.get("enter_long", pd.Series(0, index=out.index)) == 1))
    assert got == ([400] if enters else [])


def test_among_top_counts_the_pairs_with_a_larger_value():
    values = {"A": 0.004, "B": 0.003, "C": np.nan, "D": 0.005}
    assert [p for p in "ABD" if among_top(values, p, 1)] == ["D"]
    assert [p for p in "ABD" if among_top(values, p, 2)] == ["A", "D"]
    assert not among_top(values, "C", 3)  # no value: never among the best
    assert among_top(values, "C", 0)       # no ranking


class Provider:
    """The two calls confirm_trade_entry makes of freqtrade's data provider: the analyzed
    candles of a pair up to its signal candle, and the whitelist."""

    def __init__(self, frames: dict[str, pd.DataFrame], upto: pd.Timestamp):
        self.frames, self.upto = frames, upto

    def get_analyzed_dataframe(self, pair, timeframe):
        frame = self.frames[pair]
        return frame[frame["date"] <= self.upto], None

    def current_whitelist(self):
        return list(self.frames)


def test_top_k_enters_only_the_best_expected_returns_at_the_signal_candle(module):
    """Three pairs analyzed over the same candles; at the signal candle their expected returns
    rank C > A > B. With top_k 1 only C is confirmed, with 2 A and C; later candles (where B
    is best) do not count, and top_k 0 confirms all."""
    dates = pd.date_range("2025-01-01", periods=6, freq="1h", tz="UTC")
    at_signal = {"A": 0.004, "B": 0.003, "C": 0.006}
    frames = {}
    strategy = strategy_of(module, "1h", 4)
    for pair, value in at_signal.items():
        expected = [0.0, 0.0, 0.0, value, 0.0, 0.02 if pair == "B" else 0.0]
        frame = pd.DataFrame({"date": dates, **FLAT_PRICES, "volume": 1.0, "do_predict": 1,
                              "&-s_close": 0.0, "expected_return": expected})
        frames[pair] = strategy.populate_entry_trend(frame, {"pair": pair})
    strategy.dp = Provider(frames, upto=dates[3])

    def confirmed(k):
        strategy.top_k.value = k
        return [p for p in frames if strategy.confirm_trade_entry(
            p, "limit", 1.0, 1.0, "GTC", dates[4], "ai_long", "long")]

    assert confirmed(1) == ["C"]
    assert confirmed(2) == ["A", "C"]
    assert confirmed(0) == ["A", "B", "C"]


def test_top_k_confirms_nothing_without_analyzed_candles(module):
    strategy = strategy_of(module, "1h", 4, top_k=1)
    empty = pd.DataFrame({"date": pd.to_datetime([], utc=True), "expected_return": []})
    strategy.dp = Provider({"A": empty}, upto=pd.Timestamp("2025-01-01", tz="UTC"))
    assert not strategy.confirm_trade_entry("A", "limit", 1.0, 1.0, "GTC", OPEN, "ai_long",
                                            "long")


class Markets:
    """freqtrade's data provider as round_trip_fee reads it: market(pair) or a failure."""

    def __init__(self, market):
        self._market = market

    def market(self, pair):
        if self._market is None:
            raise OperationalException("no exchange")
        return self._market


def test_the_round_trip_fee_is_the_configs_else_the_markets_taker_fee_else_the_fallback(
        module):
    strategy = module.SelfLearningStrategy({})
    strategy.dp = Markets({"taker": 0.00075, "maker": 0.0002})
    assert strategy.round_trip_fee("A/USDT") == pytest.approx(0.0015)
    strategy = module.SelfLearningStrategy({"fee": 0.0005})
    strategy.dp = Markets({"taker": 0.00075})
    assert strategy.round_trip_fee("A/USDT") == pytest.approx(0.001)
    strategy = module.SelfLearningStrategy({})
    strategy.dp = Markets(None)
    assert strategy.round_trip_fee("A/USDT") == pytest.approx(0.002)


def test_the_hour_of_day_features_count_minutes():
    """At 5m, 10:00 and 10:30 are different times of day (the hour's fraction counts)."""
    strategy = load_strategy_module().SelfLearningStrategy({})
    dates = pd.to_datetime(["2025-01-06 10:00", "2025-01-06 10:30"], utc=True)
    out = strategy.feature_engineering_standard(pd.DataFrame({"date": dates}), {})
    np.testing.assert_allclose(out["%-hour_of_day_sin"], np.sin(2 * np.pi * np.array(
        [10.0, 10.5]) / 24))
