"""The market's own information as features of every pair (issue 19, docs/edge_study.md):
the equal-weight basket of the whitelist and BTC, their recent log returns and volatility,
and the pair's return relative to the basket. Pure pandas, no freqtrade: the strategy hands
in each pair's closes by candle date (closed candles only), the quality study its aligned
frames; both go through `market_features`, the one formula.

Every value at date t uses closes at dates <= t only: the basket is a per-date mean of
one-candle returns, and every window is a trailing rolling window over the dates.

Only market observations count (docs/design.md "Markets with sessions and gaps"): a candle
freqtrade filled (outage, closed market), a flat zero-volume one or a broken one
(strategy_columns.observed_rows) has no close here (NaN, closes_by_date), so no return
starts or ends there and no such candle enters the basket as a zero return. A pair's
one-candle return at an observed candle is the one since its previous observed close, as
the model's own windows take it: the first return after a gap spans the gap, like Monday's
after a weekend. Per date the basket is the mean over the pairs that have a return there,
NaN where none has (every pair closed: those candles are not predicted anyway). A window of k
candles (returns, volatility) runs over the last k dates where its series (the basket's,
BTC's, the pair's relative return) has a value, however far back, as the model's own windows
do; a date where the series has none is NaN in every window (FreqAI and the model skip such a
row: not predicted, not learned). Candles without gaps give the plain rolling windows, bit
for bit.

What every pair shares (each pair's returns, the basket, the basket's and BTC's columns) is a
`Basket`, computed once per set of candles: the strategy keeps the last one in a BasketCache
keyed by `frames_key` of the candles it came from, so a whitelist of N pairs costs one basket
per new candle, not N.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from self_learning.candles.features import OHLCV
from self_learning.strategy.strategy_columns import observed_rows

DAY_S = 86_400
EPS = 1e-12
PREFIX = "%-"  # FreqAI uses the columns whose name starts with it as features
F = TypeVar("F", pd.Series, pd.DataFrame)


def market_windows(timeframe_s: int) -> tuple[int, ...]:
    """Return windows in candles, each once: 1, an hour (at least 3), a quarter day (at least
    6) and a day of the timeframe (at least 1): (1, 3, 6, 24) at 1h, (1, 12, 72, 288) at 5m,
    (1, 3, 6) at 4h, 1d and 1w. Volatility uses the windows of 3 candles or more."""
    day = DAY_S // int(timeframe_s)
    return tuple(sorted({1, max(day // 24, 3), max(day // 4, 6), max(day, 1)}))


def log_returns(close: F) -> F:
    """One-candle log returns of a close series (or of each column of a frame of them): at
    each close, the log return since the previous close that is not NaN (a NaN close is a
    candle that is not a market observation, closes_by_date); NaN at a NaN close and at the
    first close."""
    logs = np.log(close)
    return logs.ffill().diff().where(logs.notna())


def basket_returns(returns: Iterable[pd.Series]) -> pd.Series:
    """The equal-weight basket: per date, the mean of the one-candle log returns of the pairs
    that have one there, over the union of dates. A pair has none (NaN, or no row) before its
    first candle and where its candle is not a market observation (closes_by_date); a date
    where no pair has one is NaN."""
    return pd.concat(list(returns), axis=1).sort_index().mean(axis=1)


def over_defined(series: pd.Series, compute: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`compute` (trailing rolling windows) over the dates where `series` has a value, NaN at
    the others: a window of k candles holds the last k values, however far back. A series
    whose values have no gap (NaN only before the first) is computed as it is: the same."""
    defined = series.notna().to_numpy()
    first = int(defined.argmax()) if defined.any() else len(defined)
    if defined[first:].all():
        return compute(series)
    return compute(series[defined]).reindex(series.index)


def trailing_sum(returns: pd.Series, window: int) -> pd.Series:
    """The sum of the last `window` returns (over_defined)."""
    return over_defined(returns, lambda r: r.rolling(window).sum())


def trailing_volatility(returns: pd.Series, window: int) -> pd.Series:
    """The log of the std of the last `window` returns (over_defined)."""
    return over_defined(returns, lambda r: np.log(r.rolling(window).std() + EPS))


@dataclass(frozen=True)
class SharedColumns:
    """The columns every pair shares: the volatilities, then each window's returns."""

    volatility: Mapping[str, pd.Series]
    returns: Mapping[int, Mapping[str, pd.Series]]  # window -> the basket's and BTC's returns


def shared_features(basket_ret: pd.Series, btc_ret: pd.Series | None,
                    windows: Sequence[int]) -> SharedColumns:
    """The basket's and BTC's returns (trailing sums of log returns) and volatility (log of
    the trailing std, windows >= 3) over each window: the columns every pair shares. `btc_ret`
    None leaves BTC's columns out."""
    sources = {"basket": basket_ret} if btc_ret is None else {"basket": basket_ret,
                                                             "btc": btc_ret}
    volatility = {f"{name}_vol_{w}": trailing_volatility(ret, w)
                  for w in windows if w >= 3 for name, ret in sources.items()}
    returns = {w: {f"{name}_ret_{w}": trailing_sum(ret, w) for name, ret in sources.items()}
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
        out[f"rel_ret_{w}"] = trailing_sum(relative, w)
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
    """One pair's closes indexed by candle date from several candle frames (date and OHLCV;
    e.g. FreqAI's history and the latest candles); where frames overlap, the later frame
    wins. NaN where the candle is not a market observation (strategy_columns.observed_rows:
    filled by freqtrade, flat with zero volume, broken)."""
    parts = [f[["date", *OHLCV]] for f in frames if f is not None and len(f)]
    if not parts:
        return pd.Series(dtype=np.float64)
    merged = pd.concat(parts).drop_duplicates("date", keep="last").sort_values("date")
    close = merged.set_index("date")["close"].astype(np.float64)
    return close.where(observed_rows(merged))


@dataclass(frozen=True)
class Basket:
    """What the market columns of every pair share, for one set of candles."""

    returns: Mapping[str, pd.Series]  # each pair's one-candle log returns, by every date
    basket_ret: pd.Series             # the basket's, by every date (the union of the closes')
    shared: SharedColumns             # shared_features over basket_ret's dates


def basket_of(closes: Mapping[str, pd.Series], basket: Sequence[str], btc: str | None,
              windows: Sequence[int]) -> Basket:
    """The Basket of the `basket` pairs and BTC (`btc`, None: no BTC columns) from `closes`
    (pair -> closes by date, NaN where the candle is not a market observation:
    closes_by_date; every pair there gets its returns). The returns run over the union of
    the dates (freqtrade fills every missing candle, so these are the timeframe's): a pair's
    return at t is the one since its previous observed close, NaN where its close at t is NaN
    or missing (log_returns)."""
    missing = [p for p in {*basket, *([btc] if btc else [])} if p not in closes]
    if missing:
        raise KeyError(f"market_columns: no closes for {', '.join(sorted(missing))}")
    frame = log_returns(pd.concat(dict(closes), axis=1).sort_index())
    returns = {p: frame[p] for p in closes}
    basket_ret = basket_returns(returns[p] for p in basket)
    btc_ret = None if btc is None else returns[btc]
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

    def __getstate__(self) -> dict:
        """A pickled copy starts empty, with a lock of its own: freqtrade's parallel hyperopt
        pickles the strategy into its workers, and a lock cannot be pickled."""
        return {}

    def __setstate__(self, state: dict) -> None:
        self.__init__()

    def get(self, key, compute: Callable[[], Basket]) -> Basket:
        with self._lock:
            entry = self._entry
        if entry is not None and entry[0] == key:
            return entry[1]
        basket = compute()
        with self._lock:
            self._entry = (key, basket)
        return basket
