"""Seeded synthetic crypto market: the project's default demo data.

`generate_candles(pair, timeframe, start, periods, seed)` is pure: it simulates one-minute candles
and aggregates them, so the 5m, 15m and 1h files of one pair, seed and start describe the same
market. The one-minute model:

* GARCH(1,1) volatility (clustering) driven by Student-t innovations (fat tails);
* a Markov regime per episode of about a day and a half: uptrend, downtrend (drift) or range
  (mean reversion towards the price at the start of the episode);
* intraday and weekend seasonality of volatility and volume; volume rises with volatility and
  with the size of the move;
* prices rounded to about six significant digits (a tick), so high >= max(open, close) and
  low <= min(open, close) hold exactly.

Scenario `EdgeFlip` (CLI `--flip-day N`): a market whose predictable edge changes sign at a
given moment. The regimes keep their volatility but lose their drift and range pull; instead
every minute's return is pulled towards an exponential moving average of the price (mean
reversion: the yardstick -(close / SMA20 - 1) of 5m candles has a positive IC) until
`flip_at`, and pushed away from it (trend following: the same yardstick's IC turns negative)
from then on. For benchmarks of how fast a model notices that its edge flipped.

CLI: `python -m self_learning_offline.market --out DIR --pairs BTC/USDT ETH/USDT --timeframe 5m
--days 30 --seed 42 [--end YYYYMMDD] [--flip-day N]` writes freqtrade's `BTC_USDT-5m.feather`
layout.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

# Under `python -m` __name__ is "__main__"; log under the module's real name instead.
logger = logging.getLogger(__spec__.name if __spec__ else __name__)

COLUMNS = ["date", "open", "high", "low", "close", "volume"]
MINUTE = timedelta(minutes=1)
MINUTES_PER_DAY = 1440
TIMEFRAME_UNITS = {"m": 1, "h": 60, "d": MINUTES_PER_DAY, "w": 7 * MINUTES_PER_DAY}
PAIR_PATTERN = re.compile(r"^[A-Z0-9]+/[A-Z0-9]+$")
STABLECOINS = frozenset({"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USD"})
# Rough USD prices, daily volatilities and traded USD per minute of well-known assets.
REFERENCE_USD = {"BTC": 42000.0, "ETH": 2500.0, "BNB": 310.0, "SOL": 100.0, "XRP": 0.6,
                 "ADA": 0.5, "DOGE": 0.08, "LTC": 70.0, "DOT": 7.0, "LINK": 15.0}
DAILY_VOL = {"BTC": 0.028, "ETH": 0.036}
DEFAULT_DAILY_VOL = 0.05
USD_PER_MINUTE = {"BTC": 600_000.0, "ETH": 300_000.0}
DEFAULT_USD_PER_MINUTE = 40_000.0

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
STREAMS = 6  # independent random streams: innovations, slow vol, regimes, wicks, volume, model
# EdgeFlip: per-minute pull towards (before the flip) or push away from (after) the price's
# exponential moving average, as a fraction of the gap; below the average's own per-minute
# weight (2 / (FLIP_AVERAGE_MINUTES + 1)), so the trend-following half stays stationary.
FLIP_STRENGTH = 0.02
FLIP_AVERAGE_MINUTES = 60.0


@dataclass(frozen=True)
class EdgeFlip:
    """Scenario: mean reversion towards the price's moving average until `flip_at` (UTC),
    trend following away from it after (see the module docstring)."""

    flip_at: datetime
    strength: float = FLIP_STRENGTH
    average_minutes: float = FLIP_AVERAGE_MINUTES

    def __post_init__(self):
        if self.flip_at.tzinfo is None:
            raise ValueError(f"flip_at {self.flip_at} must be timezone-aware (UTC).")
        if not 0.0 < self.strength < 2.0 / (self.average_minutes + 1.0):
            raise ValueError(
                f"strength {self.strength} must be in (0, 2 / (average_minutes + 1)) = "
                f"(0, {2.0 / (self.average_minutes + 1.0):.4f}): a stronger push makes the "
                "trend-following half explode.")

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): -strength, then +strength."""
        after = minutes >= pd.Timestamp(self.flip_at)
        return np.where(after, self.strength, -self.strength)


@dataclass(frozen=True)
class MarketModel:
    """Per-pair model constants derived from the pair name (and the seed for unknown assets)."""

    start_price: float
    minute_vol: float
    minute_volume: float  # base-asset volume of an average minute
    tick: float


def parse_timeframe(timeframe: str) -> int:
    """'5m' -> 5, '1h' -> 60, '1d' -> 1440 (minutes); ValueError for anything else."""
    match = re.fullmatch(r"(\d+)([mhdw])", timeframe)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"Invalid timeframe '{timeframe}': use minutes or more, e.g. 5m, 1h, 1d.")
    return int(match.group(1)) * TIMEFRAME_UNITS[match.group(2)]


def pair_seed(pair: str, seed: int) -> np.random.SeedSequence:
    """Stable per-pair seed (crc32, not Python's salted hash)."""
    return np.random.SeedSequence([seed, zlib.crc32(pair.encode())])


def market_model(pair: str, rng: np.random.Generator) -> MarketModel:
    base, quote = pair.split("/")
    base_usd = REFERENCE_USD.get(base, float(10 ** rng.uniform(-2, 2)))
    quote_usd = 1.0 if quote in STABLECOINS else REFERENCE_USD.get(quote, 1.0)
    price = base_usd / quote_usd
    minute_vol = DAILY_VOL.get(base, DEFAULT_DAILY_VOL) / math.sqrt(MINUTES_PER_DAY)
    minute_volume = USD_PER_MINUTE.get(base, DEFAULT_USD_PER_MINUTE) / base_usd
    tick = 10.0 ** (math.floor(math.log10(price)) - 5)
    return MarketModel(price, minute_vol, minute_volume, tick)


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
    scenario: EdgeFlip | None = None,
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


def aggregate(minutes: pd.DataFrame, size: int) -> pd.DataFrame:
    """Consecutive blocks of `size` one-minute candles -> one candle each."""
    blocks = len(minutes) // size

    def block(column: str) -> np.ndarray:
        return minutes[column].to_numpy()[: blocks * size].reshape(blocks, size)

    return pd.DataFrame({
        "date": minutes["date"].to_numpy()[: blocks * size : size],
        "open": block("open")[:, 0],
        "high": block("high").max(axis=1),
        "low": block("low").min(axis=1),
        "close": block("close")[:, -1],
        "volume": block("volume").sum(axis=1),
    })


def round_prices(frame: pd.DataFrame, tick: float) -> pd.DataFrame:
    """Prices to the tick (monotone, so OHLC ordering survives), volume to 1e-8, >= 1e-8."""
    decimals = max(0, -math.floor(math.log10(tick)))
    frame = frame.copy()
    for column in ("open", "high", "low", "close"):
        frame[column] = np.maximum(frame[column].to_numpy().round(decimals), tick)
    frame["volume"] = np.maximum(frame["volume"].to_numpy().round(8), 1e-8)
    return frame


def generate_candles(
    pair: str, timeframe: str, start: datetime, periods: int, seed: int,
    scenario: EdgeFlip | None = None,
) -> pd.DataFrame:
    """`periods` candles of `pair` from `start` (UTC, on the timeframe grid), freqtrade layout.

    Pure and deterministic: the same arguments give the same frame; different timeframes with the
    same pair, seed, start and scenario aggregate the same one-minute market.
    """
    if not PAIR_PATTERN.match(pair):
        raise ValueError(f"Invalid pair '{pair}': expected BASE/QUOTE, e.g. BTC/USDT.")
    size = parse_timeframe(timeframe)
    if periods < 1:
        raise ValueError(f"periods must be >= 1, got {periods}.")
    start = pd.Timestamp(start).tz_localize(UTC) if start.tzinfo is None else pd.Timestamp(start)
    if int(start.timestamp()) % (size * 60) or start.second or start.microsecond:
        raise ValueError(f"start {start} is not on the {timeframe} grid.")
    streams = [np.random.default_rng(child) for child in pair_seed(pair, seed).spawn(STREAMS)]
    model = market_model(pair, streams.pop())
    minutes = minute_candles(model, streams, start.to_pydatetime(), periods * size, scenario)
    frame = round_prices(aggregate(minutes, size), model.tick)
    frame["date"] = pd.to_datetime(frame["date"], utc=True).astype("datetime64[ns, UTC]")
    return frame[COLUMNS]


# --- CLI ----------------------------------------------------------------------------------------


def pair_filename(pair: str, timeframe: str) -> str:
    """freqtrade's feather name: 'BTC/USDT', '5m' -> 'BTC_USDT-5m.feather'."""
    return f"{pair.replace('/', '_')}-{timeframe}.feather"


def write_feather(frame: pd.DataFrame, path: Path) -> None:
    """Atomic write in freqtrade's feather format (lz4, level 9)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.reset_index(drop=True).to_feather(partial, compression="lz4", compression_level=9)
    os.replace(partial, path)


def span(end: datetime, days: int, timeframe: str) -> tuple[datetime, int]:
    """(start on the timeframe grid, periods) of the candles opening in [end - days, end)."""
    size = timedelta(minutes=parse_timeframe(timeframe))
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    first = end - timedelta(days=days)
    start = epoch + (first - epoch) // size * size
    return start, (end - start) // size


def _pair(value: str) -> str:
    pair = value.upper()
    if not PAIR_PATTERN.match(pair):
        raise argparse.ArgumentTypeError(f"'{value}' is not a BASE/QUOTE pair such as BTC/USDT")
    return pair


def _timeframe(value: str) -> str:
    try:
        parse_timeframe(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from e
    return value


def _positive_int(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a positive integer")
    return int(value)


def _seed(value: str) -> int:
    if not value.isdigit():
        raise argparse.ArgumentTypeError(f"'{value}' is not a non-negative integer")
    return int(value)


def _date(value: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y%m%d").replace(tzinfo=UTC)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"'{value}' is not a date YYYYMMDD") from e


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m self_learning_offline.market",
        description="Write seeded synthetic crypto candles in freqtrade's feather layout.",
    )
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--pairs", type=_pair, nargs="+", required=True,
                        help="pairs BASE/QUOTE, e.g. BTC/USDT ETH/USDT")
    parser.add_argument("--timeframe", type=_timeframe, nargs="+", default=["5m"],
                        help="one or more timeframes of 1m or more (default 5m)")
    parser.add_argument("--days", type=_positive_int, default=30, help="days of data (30)")
    parser.add_argument("--seed", type=_seed, default=42, help="random seed (42)")
    parser.add_argument("--end", type=_date, default=None,
                        help="YYYYMMDD, exclusive end at 00:00 UTC (default: today 00:00 UTC)")
    parser.add_argument("--flip-day", type=_seed, default=None, metavar="N",
                        help="scenario: mean reversion until 00:00 UTC of day N of the data "
                             "(0 = its first day), trend following after")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s - %(name)s - %(levelname)s - %(message)s")
    end = args.end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    scenario = None
    if args.flip_day is not None:
        if args.flip_day >= args.days:
            build_parser().error(f"argument --flip-day: {args.flip_day} is not a day of the "
                                 f"{args.days} days generated")
        scenario = EdgeFlip(end - timedelta(days=args.days - args.flip_day))
    for timeframe in args.timeframe:
        start, periods = span(end, args.days, timeframe)
        if periods < 1:
            build_parser().error(f"argument --days: {args.days} days hold no {timeframe} candle")
        for pair in args.pairs:
            started = time.perf_counter()
            frame = generate_candles(pair, timeframe, start, periods, args.seed, scenario)
            path = args.out / pair_filename(pair, timeframe)
            write_feather(frame, path)
            first, last = frame["date"].iloc[0], frame["date"].iloc[-1]
            flip = f", edge flips {scenario.flip_at:%Y-%m-%d %H:%M}" if scenario else ""
            logger.info(
                f"Generated {periods} {timeframe} candles for {pair} "
                f"({first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M}, seed {args.seed}{flip}) "
                f"-> {path} in {time.perf_counter() - started:.2f}s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
