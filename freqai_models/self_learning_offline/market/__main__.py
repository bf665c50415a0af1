"""CLI: `python -m self_learning_offline.market --out DIR --pairs BTC/USDT ETH/USDT
--timeframe 5m [15m 1h] --days 30 --seed 42 [--end YYYYMMDD] [--flip-day N |
--mean-reversion [MINUTES]]`.

Writes freqtrade's `BTC_USDT-5m.feather` layout, one file per pair and timeframe, and logs
one line per file.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from self_learning_offline.market.assets import PAIR_PATTERN
from self_learning_offline.market.candles import generate_candles
from self_learning_offline.market.files import pair_filename, write_feather
from self_learning_offline.market.scenario import EdgeFlip, MeanReversion
from self_learning_offline.market.timeframes import parse_timeframe, span

# Under `python -m` __name__ is "__main__"; log under the module's real name instead.
logger = logging.getLogger(__spec__.name if __spec__ else __name__)


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
    parser.add_argument("--mean-reversion", type=_positive_int, nargs="?", const=60,
                        default=None, metavar="MINUTES",
                        help="scenario: mean reversion towards the price's MINUTES-minute "
                             "average the whole time (the demo market's planted, learnable "
                             "edge; 60 when no MINUTES: for 5m candles; `make demo` uses 720 "
                             "for its 1h candles)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s - %(name)s - %(levelname)s - %(message)s")
    end = args.end or datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    scenario = (MeanReversion.over(args.mean_reversion) if args.mean_reversion is not None
                else None)
    if args.flip_day is not None and args.mean_reversion is not None:
        build_parser().error("argument --mean-reversion: not allowed with --flip-day")
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
            flip = (f", edge flips {scenario.flip_at:%Y-%m-%d %H:%M}"
                    if isinstance(scenario, EdgeFlip) else
                    f", mean reversion over {scenario.average_minutes:g} minutes"
                    if isinstance(scenario, MeanReversion) else "")
            logger.info(
                f"Generated {periods} {timeframe} candles for {pair} "
                f"({first:%Y-%m-%d %H:%M} .. {last:%Y-%m-%d %H:%M}, seed {args.seed}{flip}) "
                f"-> {path} in {time.perf_counter() - started:.2f}s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
