"""The market's own information as features of every pair (issue 19, docs/edge_study.md):
the equal-weight basket of the whitelist and BTC, their recent log returns and volatility,
and the pair's return relative to the basket. Pure pandas, no freqtrade: the strategy hands
in each pair's closes by candle date (closed candles only), the quality study its aligned
frames; both go through `market_features`, the one formula.

Every value at date t uses closes at dates <= t only: the basket is a per-date mean of
one-candle returns, and every window is a trailing rolling window over the dates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

DAY_S = 86_400
EPS = 1e-12
PREFIX = "%-"  # FreqAI uses the columns whose name starts with it as features


def market_windows(timeframe_s: int) -> tuple[int, ...]:
    """Return windows in candles: 1, an hour (at least 3), a quarter day (at least 6) and a
    day of the timeframe: (1, 3, 6, 24) at 1h, (1, 12, 72, 288) at 5m. Volatility uses the
    windows of 3 candles or more."""
    day = DAY_S // int(timeframe_s)
    return (1, *sorted({max(day // 24, 3), max(day // 4, 6), day}))


def log_returns(close: pd.Series) -> pd.Series:
    """One-candle log returns of a close series (its first row NaN)."""
    return np.log(close).diff()


def basket_returns(returns: Iterable[pd.Series]) -> pd.Series:
    """The equal-weight basket: per date, the mean of the pairs' one-candle log returns
    known at that date (pairs without a candle there are left out), over the union of dates."""
    return pd.concat(list(returns), axis=1).sort_index().mean(axis=1)


def market_features(pair_ret: pd.Series, basket_ret: pd.Series, btc_ret: pd.Series | None,
                    windows: Sequence[int]) -> dict[str, pd.Series]:
    """The basket's and BTC's returns (rolling sums of log returns) and volatility (log of the
    rolling std, windows >= 3), and the pair's return minus the basket's, over each window.
    The three series share one index; `btc_ret` None leaves BTC's columns out."""
    sources = {"basket": basket_ret} if btc_ret is None else {"basket": basket_ret,
                                                             "btc": btc_ret}
    out = {}
    for w in (w for w in windows if w >= 3):
        for name, ret in sources.items():
            out[f"{name}_vol_{w}"] = np.log(ret.rolling(w).std() + EPS)
    for w in windows:
        for name, ret in sources.items():
            out[f"{name}_ret_{w}"] = ret.rolling(w).sum()
        out[f"rel_ret_{w}"] = (pair_ret - basket_ret).rolling(w).sum()
    return out


def btc_pair(whitelist: Sequence[str], corr_pairs: Sequence[str] = ()) -> str | None:
    """The pair that stands for BTC: the first pair of the whitelist, then of FreqAI's
    `include_corr_pairlist`, whose base currency is BTC; None when there is none (e.g. pairs
    quoted in BTC)."""
    return next((p for p in (*whitelist, *corr_pairs) if p.split("/")[0] == "BTC"), None)


def closes_by_date(frames: Iterable[pd.DataFrame]) -> pd.Series:
    """One pair's closes indexed by candle date from several candle frames (e.g. FreqAI's
    history and the latest candles); where frames overlap, the later frame wins."""
    parts = [f[["date", "close"]] for f in frames if f is not None and len(f)]
    if not parts:
        return pd.Series(dtype=np.float64)
    merged = pd.concat(parts).drop_duplicates("date", keep="last").sort_values("date")
    return merged.set_index("date")["close"].astype(np.float64)


def market_columns(dates: pd.Series, pair: str, closes: Mapping[str, pd.Series],
                   basket: Sequence[str], btc: str | None,
                   windows: Sequence[int]) -> pd.DataFrame:
    """The feature columns (named `%-basket_ret_3`, ...) of `pair` at `dates`: the basket of
    the `basket` pairs, BTC (`btc`, None: no BTC columns) and the pair itself, each from its
    closes in `closes` (pair -> closes by date), computed over the dates of the closes and
    merged by date. A date no close covers gets NaN."""
    missing = [p for p in {*basket, pair, *([btc] if btc else [])} if p not in closes]
    if missing:
        raise KeyError(f"market_columns: no closes for {', '.join(sorted(missing))}")
    returns = {p: log_returns(c) for p, c in closes.items()}
    basket_ret = basket_returns(returns[p] for p in basket)
    index = basket_ret.index
    columns = market_features(returns[pair].reindex(index), basket_ret,
                              None if btc is None else returns[btc].reindex(index), windows)
    frame = pd.DataFrame({PREFIX + name: col for name, col in columns.items()}, index=index)
    return frame.reindex(pd.DatetimeIndex(dates)).set_index(dates.index)
