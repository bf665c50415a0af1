"""Sharing the wide head across pairs never lets a later candle reach an earlier prediction.

FreqAI's backtesting runs one pair over every window before the next pair starts, so when pair
B predicts a window, pair A has already learned the whole timerange. The pool must hand B
only what A knew at B's candle: planted here by changing A's candles after a date X and
checking that B's predictions before X do not move by one bit (and that after X they do, so
the test can fail).
"""

import numpy as np
from synthetic import FEATURES, TIMEFRAME_S, deterministic, planted_candles, small_config

from self_learning.candles.samples import Candles
from self_learning.learning.learner import PairLearner
from self_learning.learning.settings import memory_half_life_s
from self_learning.returns.pool import StatsPool

TRAIN, DAY = 1200, 288


def backtest(a: Candles, b: Candles) -> np.ndarray:
    """A over every window, then B; returns B's predictions of all its windows."""
    config = small_config()
    pool = StatsPool(len(FEATURES), memory_half_life_s(config, TIMEFRAME_S), keep_history=True)
    out = []
    for pair, candles in (("A", a), ("B", b)):
        deterministic()
        learner = PairLearner(config, FEATURES, TIMEFRAME_S, pool)
        learner.pair = pair
        for start in range(TRAIN, len(candles.ts) - DAY + 1, DAY):
            learner.fit(candles.rows(slice(start - TRAIN, start)))
            p = learner.observe(candles.rows(slice(start, start + DAY)))
            if pair == "B":
                out.append(p.s_close)
    return np.concatenate(out)


def test_a_later_candle_of_another_pair_never_reaches_an_earlier_prediction():
    a, b = planted_candles(TRAIN + 4 * DAY, seed=31), planted_candles(TRAIN + 4 * DAY, seed=32)
    x = TRAIN + 2 * DAY  # A's candles from the third backtest window on are replaced
    changed = planted_candles(TRAIN + 4 * DAY, seed=99)
    a2 = Candles(a.ts, np.concatenate([a.ohlcv[:x], changed.ohlcv[x:] * a.ohlcv[x - 1, 3]
                                       / changed.ohlcv[x - 1, 3]]),
                 np.concatenate([a.features[:x], changed.features[x:]]))
    first, second = backtest(a, b), backtest(a2, b)
    before = 2 * DAY  # B's first two windows end at x
    np.testing.assert_array_equal(first[:before], second[:before])
    assert not np.array_equal(first[before:], second[before:])


def test_a_window_stepped_at_once_predicts_like_live_candle_by_candle():
    """A backtest steps a whole window with one snapshot of the other pairs' statistics; live
    steps one candle per call. The pool's weight must decay over the window exactly as its
    per-candle discount does in live (it once stayed at the window start's: the wide head drifted
    towards the pool over a backtest day, a backtest/live difference of several percent)."""
    config = small_config()
    a, b = planted_candles(TRAIN + 2 * DAY, seed=41), planted_candles(TRAIN + 2 * DAY, seed=42)
    outs = []
    for one_by_one in (False, True):
        pool = StatsPool(len(FEATURES), memory_half_life_s(config, TIMEFRAME_S), keep_history=True)
        deterministic()
        other = PairLearner(config, FEATURES, TIMEFRAME_S, pool)
        other.pair = "A"
        other.fit(a.rows(slice(0, TRAIN)))  # published as known before B's window
        deterministic()
        learner = PairLearner(config, FEATURES, TIMEFRAME_S, pool)
        learner.pair = "B"
        learner.fit(b.rows(slice(0, TRAIN)))
        window = range(TRAIN, TRAIN + DAY)
        if one_by_one:
            parts = [learner.observe(b.rows(slice(i - 40, i + 1))).s_close for i in window]
            outs.append(np.concatenate(parts))
        else:
            outs.append(learner.observe(b.rows(slice(TRAIN - 40, TRAIN + DAY))).s_close)
    assert pool.others("B", int(b.ts[TRAIN + DAY - 1])).n > 0  # the pool took part
    np.testing.assert_allclose(outs[0], outs[1], rtol=2e-4, atol=1e-7)
