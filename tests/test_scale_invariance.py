"""benchmarks/scale_invariance.py: how it scales candles and what it counts as a difference
(its figures are in docs/operations.md "Pairs at any price level")."""

from __future__ import annotations

import numpy as np
import pandas as pd
from benchmark_support import load_benchmark

bench = load_benchmark("scale_invariance")
DATES = pd.date_range("2024-11-01", periods=3, freq="h", tz="UTC")


def test_scaled_candles_are_decimal_floats_of_the_same_money():
    """Prices times the scale, volumes divided by it, each the float of a short decimal as an
    exchange's data are (0.16119 * 1e-5 is a float a hair beyond 1.6119e-06)."""
    candles = pd.DataFrame({"date": DATES, "open": [0.16119] * 3, "high": [0.17] * 3,
                            "low": [0.16119] * 3, "close": [0.165] * 3, "volume": [3e7] * 3})
    scaled = bench.scaled(candles, 1e-5)
    assert 0.16119 * 1e-5 != 1.6119e-06
    assert scaled["open"].iloc[0] == 1.6119e-06 == scaled["low"].iloc[0]
    assert scaled["volume"].iloc[0] == 3e12
    np.testing.assert_allclose(scaled["close"] * scaled["volume"],
                               candles["close"] * candles["volume"], rtol=1e-12)


def trades(stakes, profits, close_hours=(4, 5, 6)) -> pd.DataFrame:
    return pd.DataFrame({"pair": "DOGE/USDT", "open_date": DATES,
                         "close_date": [d + pd.Timedelta(hours=h)
                                        for d, h in zip(DATES, close_hours, strict=True)],
                         "exit_reason": "time_exit", "profit_ratio": profits,
                         "stake_amount": stakes})


def test_a_capped_stake_or_a_later_exit_is_not_invariant():
    """Same trades within the tolerances count as invariant; a stake cut by a quantity cap, a
    profit ratio off by more than a tick, or an exit a candle later does not."""
    columns = {"rows_unmatched": 0.0, "do_predict_off": 0.0, "&-s_close.rows_off": 0.0}
    base = trades([331.0, 400.0, 390.0], [0.015, -0.007, 0.001])
    same = bench.trade_differences(base, trades([331.0, 400.0, 390.0],
                                                [0.015 + 2e-6, -0.007, 0.001]))
    assert bench.invariant(columns, same, len(base))
    capped = bench.trade_differences(base, trades([14.3, 400.0, 390.0], [0.015, -0.007, 0.001]))
    assert capped["stake_max_rel_diff"] > 0.9 and not bench.invariant(columns, capped, 3)
    worse = bench.trade_differences(base, trades([331.0, 400.0, 390.0], [0.015, -0.006, 0.001]))
    assert not bench.invariant(columns, worse, 3)
    later = bench.trade_differences(base, trades([331.0, 400.0, 390.0], [0.015, -0.007, 0.001],
                                                 close_hours=(5, 5, 6)))
    assert later["matched"] == 2 and not bench.invariant(columns, later, 3)
    assert not bench.invariant({**columns, "&-s_close.rows_off": 1.0}, same, 3)


def test_column_differences_count_rows_beyond_the_tolerance():
    base = pd.DataFrame({"pair": "BTC/USDT", "date": DATES, "do_predict": 1,
                         "&-liq_up": [0.01, 0.02, 0.0], "&-novelty": [1.0, 2.0, 3.0]})
    other = base.assign(**{"&-liq_up": [0.01, 0.02 * (1 + 1e-6), 0.0],
                           "&-novelty": [1.0, 2.5, 3.0]})
    out = bench.column_differences(base, other)
    assert out["&-liq_up.rows_off"] == 0 and out["&-liq_up.max_rel"] < 2e-6
    assert out["&-novelty.rows_off"] == 1 and out["&-novelty.max_abs"] == 0.5
    assert out["do_predict_off"] == 0 and out["rows_unmatched"] == 0
