"""The markets benchmarks/quality.py runs on: named data sets, each with its timeframe, FreqAI
windows that suit it and a walk-forward of named windows.

Windows of role `dev` are where settings are chosen; windows of role `holdout` (the last ones)
are only reported. The 2018 BTC-quoted pairs are a second set, never chosen on (README).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
STARTUP_CANDLES = 250  # SelfLearningStrategy.startup_candle_count
DEV, HOLDOUT = "dev", "holdout"


def timerange_bounds(timerange: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The UTC start and (exclusive) end of a freqtrade timerange YYYYMMDD-YYYYMMDD."""
    start, _, stop = timerange.partition("-")
    return pd.Timestamp(start, tz="UTC"), pd.Timestamp(stop, tz="UTC")


@dataclass(frozen=True)
class Window:
    """A backtest timerange YYYYMMDD-YYYYMMDD with its name and role (dev or holdout)."""

    name: str
    timerange: str
    role: str


@dataclass(frozen=True)
class Timeframe:
    """A candle size and the FreqAI windows that suit it: train on `train_days`, retrain every
    `backtest_days` (5m: 5 / 1, so 14 retrains in two weeks; 1h: 30 / 7)."""

    name: str
    candle: pd.Timedelta
    train_days: int
    backtest_days: int

    def lead(self) -> pd.Timedelta:
        """Candles a backtest needs before its timerange: training days + startup candles."""
        return pd.Timedelta(days=self.train_days) + STARTUP_CANDLES * self.candle


TIMEFRAMES = {
    "5m": Timeframe("5m", pd.Timedelta(minutes=5), 5, 1),
    "1h": Timeframe("1h", pd.Timedelta(hours=1), 30, 7),
}


@dataclass(frozen=True)
class DataSet:
    """Candles of `pairs` in `datadir` quoted in `stake`, at `timeframe`, and their windows."""

    name: str
    datadir: Path
    pairs: tuple[str, ...]
    stake: str
    timeframe: str
    windows: tuple[Window, ...]

    def selected(self, names: list[str] | None) -> list[Window]:
        """The windows named (or of the roles named: dev, holdout); all when `names` is None."""
        if not names:
            return list(self.windows)
        chosen = [w for w in self.windows if w.name in names or w.role in names]
        unknown = set(names) - {w.name for w in self.windows} - {DEV, HOLDOUT}
        if unknown or not chosen:
            raise ValueError(f"--windows {' '.join(names)}: set {self.name} has windows "
                             f"{', '.join(w.name for w in self.windows)} (or say dev / holdout)")
        return chosen


USDT_PAIRS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "DOGE/USDT", "BNB/USDT")
SETS = {
    "usdt-5m": DataSet("usdt-5m", SHARED / "binance_usdt", USDT_PAIRS, "USDT", "5m", (
        Window("jan", "20250108-20250122", DEV),
        Window("feb", "20250205-20250219", DEV),
        Window("mar", "20250319-20250402", HOLDOUT),
        Window("apr", "20250415-20250429", HOLDOUT),
    )),
    "usdt-1h": DataSet("usdt-1h", SHARED / "binance_usdt", USDT_PAIRS, "USDT", "1h", (
        Window("nov-dec", "20241101-20241227", DEV),
        Window("jan-feb", "20250103-20250228", DEV),
        Window("mar-apr", "20250301-20250426", HOLDOUT),
    )),
    "btc-2018": DataSet("btc-2018", SHARED / "binance",
                        ("ADA/BTC", "DASH/BTC", "ETC/BTC", "LTC/BTC", "XLM/BTC", "XMR/BTC"),
                        "BTC", "5m", (Window("jan-2018", "20180117-20180130", HOLDOUT),)),
}


def add_set_arguments(p: argparse.ArgumentParser, of: str) -> None:
    """--set, --windows and --label-period-candles, as quality.py and paired_runs.py take
    them (`of`: whose set and windows they are, for --help)."""
    p.add_argument("--set", default="usdt-5m", choices=sorted(SETS), help=f"data set {of}")
    p.add_argument("--windows", nargs="+", default=None, metavar="NAME",
                   help=f"windows {of} (names, or dev / holdout); default all")
    p.add_argument("--label-period-candles", type=int, default=None, metavar="H",
                   help="the horizon H of the labels (default: the timeframe's shipped setup: "
                        "12 on 5m (config.5m.json), 4 on 1h (config.json))")
