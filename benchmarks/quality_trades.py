"""Trades beside the signal in benchmarks/quality.py: what freqtrade's trades of a model made,
whether its entries realized what they predicted, and buy-and-hold of the same pairs.

* `entry_quality`: per trade, the candle whose close gave the entry signal (the candle before
  the entry's open), its prediction and its realized `&-s_close` (the target); means in %.
  An entry rule that works realizes at least the round-trip fee on average.
* `buy_and_hold`: an equal-weight portfolio of the pairs bought at the first candle's open of
  the timerange and sold at the last close, after the round-trip fee; max drawdown of its
  value, candle by candle.
* `combine`: the figures of several windows (each backtest starts with a fresh wallet): sums
  of trades and profits, the largest drawdown, entry means weighted by entries.
Pure pandas; `read_trade_list` is the one reader (freqtrade's own result file).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FALLBACK_FEE = 0.001  # Binance spot taker fee, per side, when no trade tells it


def read_trade_list(results_dir: Path) -> pd.DataFrame:
    """pair, open_date, profit_ratio, fee_open, fee_close of the newest backtest result."""
    from freqtrade.data.btanalysis import load_backtest_data

    trades = load_backtest_data(results_dir)
    if trades.empty:
        return pd.DataFrame(columns=["pair", "open_date", "profit_ratio", "fee_open",
                                     "fee_close"])
    trades["open_date"] = pd.to_datetime(trades["open_date"], utc=True).astype(
        "datetime64[ns, UTC]")
    return trades[["pair", "open_date", "profit_ratio", "fee_open", "fee_close"]]


def round_trip_fee(trades: pd.DataFrame) -> float:
    """Entry plus exit fee rate of the trades (their mean), else twice FALLBACK_FEE."""
    if trades.empty:
        return 2 * FALLBACK_FEE
    return float((trades["fee_open"].astype(float) + trades["fee_close"].astype(float)).mean())


def entry_quality(trades: pd.DataFrame, rows: pd.DataFrame, candle: pd.Timedelta
                  ) -> dict[str, float]:
    """entries (trades whose signal candle was scored), entry_pred_pct (mean prediction at the
    signal), entry_realized_pct (mean realized target there), fee_round_trip_pct."""
    signals = trades.assign(date=trades["open_date"] - candle)[["pair", "date"]]
    matched = signals.merge(rows[["pair", "date", "pred", "target"]], on=["pair", "date"])
    return {"entries": float(len(matched)),
            "entry_pred_pct": 100 * float(matched["pred"].mean()) if len(matched) else np.nan,
            "entry_realized_pct": (100 * float(matched["target"].mean()) if len(matched)
                                   else np.nan),
            "fee_round_trip_pct": 100 * round_trip_fee(trades)}


def buy_and_hold(candles: dict[str, pd.DataFrame], timerange: str, fee: float
                 ) -> dict[str, float]:
    """profit_pct and max_drawdown_pct of the equal-weight buy-and-hold over `timerange`
    (YYYYMMDD-YYYYMMDD, end exclusive), after the round-trip `fee` (a rate)."""
    start, _, stop = timerange.partition("-")
    begin, end = pd.Timestamp(start, tz="UTC"), pd.Timestamp(stop, tz="UTC")
    values = []
    for frame in candles.values():
        part = frame[(frame["date"] >= begin) & (frame["date"] < end)]
        if part.empty:
            raise ValueError(f"no candles in {timerange}")
        values.append(part.set_index("date")["close"] / float(part["open"].iloc[0]))
    value = pd.concat(values, axis=1).ffill().mean(axis=1)
    drawdown = 1 - value / value.cummax()
    return {"profit_pct": 100 * (float(value.iloc[-1]) * (1 - fee / 2) * (1 - fee / 2) - 1),
            "max_drawdown_pct": 100 * float(drawdown.max())}


def combine(parts: list[dict[str, float]]) -> dict[str, float]:
    """The figures of several windows: trades, entries and profit summed, drawdown the largest,
    entry means and mean profit per trade weighted by their counts."""
    if len(parts) == 1:
        return dict(parts[0])
    out: dict[str, float] = {}
    for key in ("trades", "entries", "profit_pct"):
        if all(key in p for p in parts):
            out[key] = float(sum(p[key] for p in parts))
    out["max_drawdown_pct"] = float(max(p["max_drawdown_pct"] for p in parts))
    for key, weight in (("entry_pred_pct", "entries"), ("entry_realized_pct", "entries"),
                        ("profit_mean_pct", "trades"), ("fee_round_trip_pct", "trades")):
        pairs = [(p[key], p[weight]) for p in parts
                 if key in p and weight in p and p[weight] > 0 and np.isfinite(p[key])]
        total = sum(w for _, w in pairs)
        out[key] = float(sum(v * w for v, w in pairs) / total) if total else np.nan
    return out
