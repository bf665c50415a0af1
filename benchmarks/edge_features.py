"""Features and targets of benchmarks/edge_study.py: pure numpy/pandas, no TA-Lib, no freqtrade.

`baseline` approximates SelfLearningStrategy's features (its stationary ratios at periods 10
and 20, on the base timeframe and, as longer periods of the same candles, on the strategy's
higher `include_timeframes`; its basic ratios; hour-of-day / day-of-week as sin/cos). The
candidate groups add what those ratios miss. Every feature at row t uses candles <= t only.
Targets go through the model's one formula, `self_learning.candles.features.observed_targets`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from self_learning.candles.features import observed_targets
from self_learning.strategy.market_features import (
    SharedColumns,
    log_returns,
    market_features,
    shared_features,
    with_relative,
)

OHLCV = ["open", "high", "low", "close", "volume"]
GROUPS = ("market", "range_vol", "volume", "autocorr", "time2")
EPS = 1e-12


def _wilder(x: pd.Series, period: int) -> pd.Series:
    return x.ewm(alpha=1.0 / period, adjust=False, min_periods=period).mean()


def ta_ratios(c: pd.DataFrame, period: int) -> dict[str, pd.Series]:
    """The strategy's `_expand_all` ratios at one period (TA-Lib's formulas, approximated)."""
    close, high, low, vol = c["close"], c["high"], c["low"], c["volume"]
    delta = close.diff()
    up, down = _wilder(delta.clip(lower=0), period), _wilder(-delta.clip(upper=0), period)
    tr = pd.concat([high - low, (high - close.shift()).abs(), (low - close.shift()).abs()],
                   axis=1).max(axis=1)
    atr = _wilder(tr, period)
    up_move, down_move = high.diff(), -low.diff()
    pdm = up_move.where((up_move > down_move) & (up_move > 0), 0.0)
    ndm = down_move.where((down_move > up_move) & (down_move > 0), 0.0)
    pdi, ndi = _wilder(pdm, period) / (atr + EPS), _wilder(ndm, period) / (atr + EPS)
    dx = (pdi - ndi).abs() / (pdi + ndi + EPS)
    typical = (high + low + close) / 3
    flow = typical * vol
    pos = flow.where(typical.diff() > 0, 0.0).rolling(period).sum()
    neg = flow.where(typical.diff() < 0, 0.0).rolling(period).sum()
    sma = close.rolling(period).mean()
    ema = close.ewm(span=period, adjust=False, min_periods=period).mean()
    std = close.rolling(period).std(ddof=0)
    return {
        "rsi": up / (up + down + EPS),
        "mfi": pos / (pos + neg + EPS),
        "adx": _wilder(dx, period),
        "sma_dist": close / sma - 1,
        "ema_dist": close / ema - 1,
        "roc": close / close.shift(period) - 1,
        "bb_width": 4 * std / sma,
        "bb_pctb": (close - (sma - 2 * std)) / (4 * std + EPS),
        "atr_ratio": atr / close,
        "rel_volume": vol / (vol.rolling(period).mean() + EPS),
    }


def baseline(c: pd.DataFrame, multipliers: tuple[int, ...]) -> dict[str, pd.Series]:
    """The strategy's ratios at periods 10 and 20 times each timeframe multiplier, plus its
    basic ratios (`_expand_basic`)."""
    out = {}
    for mult in multipliers:
        for period in (10, 20):
            for name, col in ta_ratios(c, period * mult).items():
                out[f"{name}_{period}x{mult}"] = col
    close = c["close"]
    out["pct_change"] = close.pct_change()
    out["raw_volume_ratio"] = c["volume"] / (c["volume"].rolling(24).mean() + EPS)
    out["close_sma_ratio"] = close / close.rolling(24).mean() - 1
    out["hl_range"] = (c["high"] - c["low"]) / close
    return out


def time_features(dates: pd.Series) -> dict[str, pd.Series]:
    d = dates.dt
    hour = d.hour + d.minute / 60
    return {"dow_sin": np.sin(2 * np.pi * d.day_of_week / 7),
            "dow_cos": np.cos(2 * np.pi * d.day_of_week / 7),
            "hour_sin": np.sin(2 * np.pi * hour / 24),
            "hour_cos": np.cos(2 * np.pi * hour / 24)}


def time_detail(dates: pd.Series) -> dict[str, pd.Series]:
    """What one sin/cos pair cannot draw: 2nd and 3rd harmonics of the hour, weekend flag."""
    d = dates.dt
    hour = d.hour + d.minute / 60
    out = {f"hour{k}_{fn.__name__}": fn(2 * np.pi * k * hour / 24)
           for k in (2, 3) for fn in (np.sin, np.cos)}
    out["weekend"] = (d.day_of_week >= 5).astype(float)
    return out


def range_vol(c: pd.DataFrame, windows: tuple[int, ...]) -> dict[str, pd.Series]:
    """Parkinson and Garman-Klass volatility (log), and each relative to a 4x longer window."""
    hl = np.log(c["high"] / c["low"]) ** 2
    co = np.log(c["close"] / c["open"]) ** 2
    park = hl / (4 * np.log(2))
    gk = 0.5 * hl - (2 * np.log(2) - 1) * co
    out = {}
    for w in windows:
        for name, v in (("park", park), ("gk", gk)):
            short = np.log(v.rolling(w).mean().clip(lower=EPS)) / 2
            long = np.log(v.rolling(4 * w).mean().clip(lower=EPS)) / 2
            out[f"{name}_{w}"] = short
            out[f"{name}_rel_{w}"] = short - long
    return out


def volume_surprise(c: pd.DataFrame, windows: tuple[int, ...]) -> dict[str, pd.Series]:
    """log volume minus its trailing mean; and signed by the candle's return (flow)."""
    lv = np.log1p(c["volume"].clip(lower=0))
    sign = np.sign(log_returns(c["close"])).fillna(0)
    out = {}
    for w in windows:
        s = lv - lv.rolling(w).mean()
        out[f"vol_surprise_{w}"] = s
        out[f"signed_vol_surprise_{w}"] = s * sign
    return out


def autocorr(c: pd.DataFrame, window: int, lags: tuple[int, ...]) -> dict[str, pd.Series]:
    """Rolling autocorrelation of 1-candle returns at each lag (window `window`), and its
    product with the last `lag` candles' return (the reversal/continuation it implies)."""
    r = log_returns(c["close"])
    out = {}
    for lag in lags:
        ac = r.rolling(window).corr(r.shift(lag))
        out[f"ac_{lag}"] = ac
        out[f"ac_x_ret_{lag}"] = ac * r.rolling(lag).sum() / (r.rolling(window).std() + EPS)
    return out


def cross_rank(values: list[pd.Series]) -> list[pd.Series]:
    """Each pair's rank among the pairs at every row, scaled to [0, 1] (0 = lowest, 1 =
    highest, ties averaged); rows where a pair's value is NaN are NaN for it and left out of
    the others' ranks."""
    table = pd.concat(values, axis=1)
    ranks = table.rank(axis=1)
    count = table.notna().sum(axis=1)
    scaled = (ranks - 1).div((count - 1).where(count > 1), axis=0)
    return [scaled.iloc[:, i] for i in range(len(values))]


def momentum(returns: list[pd.Series], basket_ret: pd.Series, btc_ret: pd.Series,
             windows: tuple[int, ...], rank_window: int) -> list[dict[str, pd.Series]]:
    """Multi-day momentum of every pair (one dict per pair of `returns`, one-candle log
    returns on one index): over each window, the pair's own log return, the basket's and
    BTC's (market_features' returns, without their volatility), and the pair's minus the
    basket's (cross-sectional, relative momentum); and the pair's rank among the pairs by its
    log return over `rank_window` (cross_rank). Names start with `mom_`, so that none shares
    a prefix with the `market` group's. Windows of days: 3, 7, 14 days in candles."""
    shared = shared_features(basket_ret, btc_ret, windows)
    returns_only = SharedColumns({}, shared.returns)
    ranks = cross_rank([r.rolling(rank_window).sum() for r in returns])
    out = []
    for r, rank in zip(returns, ranks, strict=True):
        cols = {f"mom_pair_ret_{w}": r.rolling(w).sum() for w in windows}
        cols.update({f"mom_{name}": col for name, col in
                     with_relative(returns_only, r, basket_ret, windows).items()})
        cols[f"mom_rank_{rank_window}"] = rank
        out.append(cols)
    return out


def target(c: pd.DataFrame, horizon: int) -> np.ndarray:
    """`&-s_close`: mean of the next H observed closes / close - 1 (the model's formula)."""
    return observed_targets(c[OHLCV].to_numpy(np.float64), horizon)[:, 0]


def forward_return(close: np.ndarray, horizon: int) -> np.ndarray:
    """close[t+H] / close[t] - 1 (what a trade entered at t and exited H candles later
    realises before fees); NaN for the last H rows."""
    out = np.full(len(close), np.nan)
    out[:-horizon] = close[horizon:] / close[:-horizon] - 1
    return out


def pair_table(c: pd.DataFrame, basket_ret: pd.Series, btc_ret: pd.Series,
               day: int, multipliers: tuple[int, ...]) -> dict[str, dict[str, pd.Series]]:
    """group -> feature name -> column, for one pair's candles (`day` = candles per day)."""
    r = log_returns(c["close"])
    short = tuple(sorted({max(day // 24, 3), max(day // 4, 6), day}))  # 5m: 12, 72, 288
    return {
        "baseline": baseline(c, multipliers),
        "time": time_features(c["date"]),
        "time2": time_detail(c["date"]),
        "market": market_features(r, basket_ret, btc_ret, (1, *short)),
        "range_vol": range_vol(c, short),
        "volume": volume_surprise(c, short),
        "autocorr": autocorr(c, max(day, 96), (1, 2, 3, max(day // 24, 4))),
    }


def random_walk(frames: list[pd.DataFrame], seed: int) -> list[pd.DataFrame]:
    """i.i.d. candles of the same length and dates: Student-t(4) log returns with each pair's
    volatility and a common factor (correlated pairs, no memory), i.i.d. ranges and volume."""
    rng = np.random.default_rng(seed)
    n = len(frames[0])
    common = rng.standard_t(4, n) / np.sqrt(2)
    out = []
    for f in frames:
        sd = np.log(f["close"]).diff().std()
        r = sd * (0.7 * common + 0.7 * rng.standard_t(4, n) / np.sqrt(2))
        close = 100 * np.exp(np.cumsum(r))
        open_ = np.r_[100.0, close[:-1]]
        high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, sd / 2, n)))
        low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, sd / 2, n)))
        vol = np.exp(rng.normal(5, 1, n))
        out.append(pd.DataFrame({"date": f["date"], "open": open_, "high": high, "low": low,
                                 "close": close, "volume": vol}))
    return out
