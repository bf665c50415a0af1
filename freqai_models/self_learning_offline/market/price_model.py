"""The one-minute stochastic market every generated candle is aggregated from.

* GARCH(1,1) volatility (clustering) driven by Student-t innovations (fat tails), times a
  multi-day AR(1) log-volatility factor;
* a Markov regime per episode of about a day and a half: uptrend, downtrend (drift) or range
  (mean reversion towards the price at the start of the episode);
* intraday and weekend seasonality of volatility and volume; volume rises with volatility and
  with the size of the move;
* optionally a scenario (`scenario.py`): its edge on the gap to the price's moving average in
  place of the regimes' drift and range pull, and its multiplier of the volatility.

`minute_candles` is pure given its random streams, each stream used for one purpose only.
"""

from __future__ import annotations

import math
from datetime import datetime

import numpy as np
import pandas as pd

from self_learning_offline.market.assets import MarketModel
from self_learning_offline.market.scenario import FLIP_AVERAGE_MINUTES, Scenario
from self_learning_offline.market.timeframes import MINUTES_PER_DAY

GARCH_ALPHA = 0.05
GARCH_BETA = 0.945
SLOW_VOL_DAYS = 3.0  # memory of the slow (multi-day) log-volatility factor
SLOW_VOL_SD = 0.35  # its stationary standard deviation
TAIL_DF = 3.5
REGIME_MEAN_MINUTES = 1.5 * MINUTES_PER_DAY
TREND_DAILY_DRIFT = 0.025  # typical |drift| per day in a trend regime
RANGE_HALF_LIFE_MINUTES = 6 * 60  # mean reversion towards the episode's anchor
REGIMES = ("range", "up", "down")
REGIME_VOL = {"range": 0.85, "up": 1.1, "down": 1.25}


def seasonality(minutes: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Volatility and volume multipliers: busiest around 14-16 UTC, quieter at weekends."""
    hours = minutes.hour.to_numpy() + minutes.minute.to_numpy() / 60.0
    daily = 1.0 + 0.35 * np.cos(2 * np.pi * (hours - 15.0) / 24.0)
    weekend = np.where(minutes.day_of_week.to_numpy() >= 5, 0.75, 1.0)
    return np.sqrt(daily) * np.sqrt(weekend), daily * weekend


def regime_path(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Per-minute drift, mean reversion, volatility factor and episode starts of the regimes."""
    drift, kappa, starts = np.zeros(n), np.zeros(n), np.zeros(n, dtype=bool)
    vol = np.ones(n)
    position, regime = 0, int(rng.integers(len(REGIMES)))
    kappa_range = math.log(2) / RANGE_HALF_LIFE_MINUTES
    while position < n:
        length = int(rng.geometric(1.0 / REGIME_MEAN_MINUTES))
        strength = rng.uniform(0.3, 1.7) * TREND_DAILY_DRIFT / MINUTES_PER_DAY
        end = min(n, position + length)
        starts[position] = True
        vol[position:end] = REGIME_VOL[REGIMES[regime]]
        if REGIMES[regime] == "range":
            kappa[position:end] = kappa_range
        else:
            drift[position:end] = strength if REGIMES[regime] == "up" else -strength
        position = end
        regime = (regime + int(rng.integers(1, len(REGIMES)))) % len(REGIMES)
    return drift, kappa, vol, starts


def slow_volatility(n: int, rng: np.random.Generator) -> np.ndarray:
    """Multi-day AR(1) log-volatility factor (mean 1): the long memory GARCH alone lacks."""
    phi = 1.0 - 1.0 / (SLOW_VOL_DAYS * MINUTES_PER_DAY)
    level = float(rng.standard_normal()) * SLOW_VOL_SD  # drawn first: prefix-stable in n
    noise = rng.standard_normal(n) * SLOW_VOL_SD * math.sqrt(1.0 - phi * phi)
    out = np.empty(n)
    for i in range(n):
        level = phi * level + noise[i]
        out[i] = level
    return np.exp(out - SLOW_VOL_SD**2 / 2)


def log_returns(
    shocks: np.ndarray, vol_factor: np.ndarray, drift: np.ndarray, kappa: np.ndarray,
    starts: np.ndarray, minute_vol: float, edge: np.ndarray | None = None,
    average_minutes: float = FLIP_AVERAGE_MINUTES,
) -> tuple[np.ndarray, np.ndarray]:
    """GARCH(1,1) scaled by `vol_factor`, plus regime drift or mean reversion, plus
    `edge[i]` times the gap between the log price and its exponential moving average.

    Returns (log returns, conditional sigma) per minute.
    """
    variance_bar = minute_vol**2
    omega = variance_bar * (1.0 - GARCH_ALPHA - GARCH_BETA)
    returns, sigmas = np.empty(len(shocks)), np.empty(len(shocks))
    edge = np.zeros(len(shocks)) if edge is None else edge  # adding 0.0 changes no bit
    weight = 2.0 / (average_minutes + 1.0)
    variance, level, anchor, average = variance_bar, 0.0, 0.0, 0.0
    for i in range(len(shocks)):
        if starts[i]:
            anchor = level
        sigma = math.sqrt(variance)
        innovation = sigma * shocks[i]
        step = (drift[i] - kappa[i] * (level - anchor) + edge[i] * (level - average)
                + innovation * vol_factor[i])
        level += step
        average += weight * (level - average)
        returns[i], sigmas[i] = step, sigma * vol_factor[i]
        variance = omega + GARCH_ALPHA * innovation * innovation + GARCH_BETA * variance
    return returns, sigmas


def minute_candles(
    model: MarketModel, streams: list[np.random.Generator], start: datetime, minutes: int,
    scenario: Scenario | None = None,
) -> pd.DataFrame:
    """Unrounded one-minute OHLCV from `start`, each random stream used for one purpose only.

    Streams are drawn sequentially, so a longer series starts with the shorter one.
    """
    shock_rng, slow_rng, regime_rng, wick_rng, volume_rng = streams
    index = pd.date_range(start, periods=minutes, freq="1min")
    vol_season, volume_season = seasonality(index)
    shocks = shock_rng.standard_t(TAIL_DF, minutes) * math.sqrt((TAIL_DF - 2) / TAIL_DF)
    drift, kappa, regime_vol, starts = regime_path(minutes, regime_rng)
    vol_factor = vol_season * regime_vol * slow_volatility(minutes, slow_rng)
    edge = None
    if scenario is not None:  # the regimes keep their volatility, the edge replaces the rest
        drift, kappa, edge = np.zeros(minutes), np.zeros(minutes), scenario.edge(index)
        vol_factor = vol_factor * scenario.volatility(index)  # times 1.0 changes no bit
    returns, sigmas = log_returns(shocks, vol_factor, drift, kappa, starts, model.minute_vol,
                                  edge, scenario.average_minutes if scenario else 1.0)
    close = model.start_price * np.exp(np.cumsum(returns))
    open_ = np.r_[model.start_price, close[:-1]]
    wicks = np.abs(wick_rng.standard_normal((minutes, 2))).T * 0.6 * sigmas
    activity = (sigmas / model.minute_vol) * (0.5 + np.abs(shocks))
    noise = volume_rng.lognormal(-0.045, 0.3, minutes)
    return pd.DataFrame({
        "date": index,
        "open": open_,
        "high": np.maximum(open_, close) * np.exp(wicks[0]),
        "low": np.minimum(open_, close) * np.exp(-wicks[1]),
        "close": close,
        "volume": model.minute_volume * volume_season * activity * noise,
    })
