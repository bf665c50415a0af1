"""The market's own information as features of every pair (issue 19, docs/edge_study.md):
the equal-weight basket of the whitelist and BTC, their recent log returns and volatility,
and the pair's return relative to the basket. Pure pandas, no freqtrade: the strategy hands
in each pair's closes by candle date (closed candles only), the quality study its aligned
frames; both go through `market_features`, the one formula.

Every value at date t uses closes at dates <= t only: the basket is a per-date mean of
one-candle returns, and every window is a trailing rolling window over the dates.

What every pair shares (each pair's returns, the basket, the basket's and BTC's columns) is a
`Basket`, computed once per set of candles: the strategy keeps the last one in a BasketCache
keyed by `frames_key` of the candles it came from, so a whitelist of N pairs costs one basket
per new candle, not N.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class SharedColumns:
    """The columns every pair shares: the volatilities, then each window's returns."""

    volatility: Mapping[str, pd.Series]
    returns: Mapping[int, Mapping[str, pd.Series]]  # window -> the basket's and BTC's returns


def shared_features(basket_ret: pd.Series, btc_ret: pd.Series | None,
                    windows: Sequence[int]) -> SharedColumns:
    """The basket's and BTC's returns (rolling sums of log returns) and volatility (log of the
    rolling std, windows >= 3) over each window: the columns every pair shares. `btc_ret`
    None leaves BTC's columns out."""
    sources = {"basket": basket_ret} if btc_ret is None else {"basket": basket_ret,
                                                             "btc": btc_ret}
    volatility = {f"{name}_vol_{w}": np.log(ret.rolling(w).std() + EPS)
                  for w in windows if w >= 3 for name, ret in sources.items()}
    returns = {w: {f"{name}_ret_{w}": ret.rolling(w).sum() for name, ret in sources.items()}
               for w in windows}
    return SharedColumns(volatility, returns)


def with_relative(shared: SharedColumns, pair_ret: pd.Series, basket_ret: pd.Series,
                  windows: Sequence[int]) -> dict[str, pd.Series]:
    """`shared` plus the pair's return minus the basket's over each window, in the columns'
    order (volatility, then per window the basket's, BTC's and the relative return)."""
    out = dict(shared.volatility)
    relative = pair_ret - basket_ret
    for w in windows:
        out.update(shared.returns[w])
        out[f"rel_ret_{w}"] = relative.rolling(w).sum()
    return out


def market_features(pair_ret: pd.Series, basket_ret: pd.Series, btc_ret: pd.Series | None,
                    windows: Sequence[int]) -> dict[str, pd.Series]:
    """The basket's and BTC's returns and volatility (shared_features), and the pair's return
    minus the basket's, over each window. The three series share one index; `btc_ret` None
    leaves BTC's columns out."""
    return with_relative(shared_features(basket_ret, btc_ret, windows), pair_ret, basket_ret,
                         windows)


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


@dataclass(frozen=True)
class Basket:
    """What the market columns of every pair share, for one set of candles."""

    returns: Mapping[str, pd.Series]  # each pair's one-candle log returns by date
    basket_ret: pd.Series             # the basket's, over the union of the basket's dates
    shared: SharedColumns             # shared_features over basket_ret's dates


def basket_of(closes: Mapping[str, pd.Series], basket: Sequence[str], btc: str | None,
              windows: Sequence[int]) -> Basket:
    """The Basket of the `basket` pairs and BTC (`btc`, None: no BTC columns) from `closes`
    (pair -> closes by date; every pair there gets its returns)."""
    missing = [p for p in {*basket, *([btc] if btc else [])} if p not in closes]
    if missing:
        raise KeyError(f"market_columns: no closes for {', '.join(sorted(missing))}")
    returns = {p: log_returns(c) for p, c in closes.items()}
    basket_ret = basket_returns(returns[p] for p in basket)
    btc_ret = None if btc is None else returns[btc].reindex(basket_ret.index)
    return Basket(returns, basket_ret, shared_features(basket_ret, btc_ret, windows))


def pair_columns(dates: pd.Series, pair: str, basket: Basket,
                 windows: Sequence[int]) -> pd.DataFrame:
    """The feature columns (named `%-basket_ret_3`, ...) of `pair` (its returns must be in
    the basket's) at `dates`, merged by date; a date no close covers gets NaN."""
    if pair not in basket.returns:
        raise KeyError(f"market_columns: no closes for {pair}")
    index = basket.basket_ret.index
    columns = with_relative(basket.shared, basket.returns[pair].reindex(index),
                            basket.basket_ret, windows)
    frame = pd.DataFrame({PREFIX + name: col for name, col in columns.items()}, index=index)
    return frame.reindex(pd.DatetimeIndex(dates)).set_index(dates.index)


def market_columns(dates: pd.Series, pair: str, closes: Mapping[str, pd.Series],
                   basket: Sequence[str], btc: str | None,
                   windows: Sequence[int]) -> pd.DataFrame:
    """The feature columns (named `%-basket_ret_3`, ...) of `pair` at `dates`: the basket of
    the `basket` pairs, BTC (`btc`, None: no BTC columns) and the pair itself, each from its
    closes in `closes` (pair -> closes by date), computed over the dates of the closes and
    merged by date. A date no close covers gets NaN."""
    if pair not in closes:
        raise KeyError(f"market_columns: no closes for {pair}")
    return pair_columns(dates, pair, basket_of(closes, basket, btc, windows), windows)


def frames_key(frames: Mapping[str, Sequence[pd.DataFrame | None]]) -> tuple:
    """What identifies the candles of several pairs for a BasketCache: per pair and frame its
    length, first and last date and last close. Closed candles never change and new ones
    arrive at the end, so a new candle (or a longer history) changes the key."""
    def one(frame: pd.DataFrame | None):
        if frame is None or not len(frame):
            return None
        return (len(frame), frame["date"].iloc[0], frame["date"].iloc[-1],
                float(frame["close"].iloc[-1]))
    return tuple((pair, tuple(one(f) for f in parts)) for pair, parts in frames.items())


class BasketCache:
    """The last Basket computed and the key of its candles (one entry: a new set of candles
    replaces it). Safe to share between freqtrade's threads (the strategy's and FreqAI's
    training thread): at worst both compute the same basket."""

    def __init__(self) -> None:
        self._entry: tuple[object, Basket] | None = None
        self._lock = threading.Lock()

    def get(self, key, compute: Callable[[], Basket]) -> Basket:
        with self._lock:
            entry = self._entry
        if entry is not None and entry[0] == key:
            return entry[1]
        basket = compute()
        with self._lock:
            self._entry = (key, basket)
        return basket
