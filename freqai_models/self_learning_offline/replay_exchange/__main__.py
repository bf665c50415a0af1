"""CLI: `python -m self_learning_offline.replay_exchange --datadir DIR [--port P] [--realtime ...]`.

Runs until SIGTERM or SIGINT, then shuts the server down cleanly (exit code 0).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from self_learning_offline.replay_exchange.candles import INTERVALS_MS
from self_learning_offline.replay_exchange.ports import PortInUseError
from self_learning_offline.replay_exchange.server import (
    DEFAULT_HISTORY,
    DEFAULT_PORT,
    DEFAULT_TICKER_INTERVAL,
    BackgroundServer,
    build_exchange,
)

# Under `python -m` __name__ is "__main__"; log under the module's real name instead.
logger = logging.getLogger(__spec__.name if __spec__ else __name__)

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"


def _existing_dir(value: str) -> Path:
    path = Path(value)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"'{value}' is not a directory")
    return path


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"'{value}' is not a port number 0..65535 (0 = any free)")
    return port


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"'{value}' is not a positive integer")
    return number


def _interval(value: str) -> str:
    if value not in INTERVALS_MS:
        raise argparse.ArgumentTypeError(
            f"'{value}' is not a Binance interval ({', '.join(INTERVALS_MS)})"
        )
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m self_learning_offline.replay_exchange",
        description="Offline Binance spot REST exchange on 127.0.0.1 replaying feather candles.",
    )
    parser.add_argument("--datadir", type=_existing_dir, required=True,
                        help="folder of freqtrade BASE_QUOTE-TF.feather files (one market each)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT,
                        help=f"TCP port on 127.0.0.1 (default {DEFAULT_PORT}, 0 = any free port)")
    parser.add_argument("--realtime", action="store_true",
                        help="replay each pair's recording on the present time grid of any "
                             "requested interval, one new candle per interval of wall clock")
    parser.add_argument("--history", type=_positive_int, default=DEFAULT_HISTORY,
                        help="realtime: recorded candles in the past at start, ending with the "
                             f"current one (default {DEFAULT_HISTORY})")
    parser.add_argument("--ticker-interval", type=_interval, default=DEFAULT_TICKER_INTERVAL,
                        help="realtime: candle grid that tickers and the order book follow; "
                             "set it to the strategy timeframe (default "
                             f"{DEFAULT_TICKER_INTERVAL})")
    parser.add_argument("--started-ms", type=int, default=None,
                        help="realtime: the replay's start (epoch ms), to continue a replay "
                             "begun then on the same recording (default: now)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format=LOG_FORMAT)
    try:
        exchange = build_exchange(args.datadir, args.realtime, args.history, args.ticker_interval,
                                  args.started_ms)
    except ValueError as e:
        build_parser().error(f"argument --datadir: {e}")
    try:
        background = BackgroundServer(exchange, args.port)
    except PortInUseError as e:
        build_parser().error(f"argument --port: {e}")
    except OSError as e:
        build_parser().error(f"argument --port: cannot listen on 127.0.0.1:{args.port} ({e})")
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, frame: stop.set())
    background.start()
    detail = (f", history {args.history} candles, started {exchange.source.started_utc}"
              if args.realtime else "")
    logger.info(
        f"Replay exchange ({exchange.mode}{detail}) serving at {background.url} - "
        f"{len(exchange.markets)} markets: {', '.join(m.pair for m in exchange.markets.values())}"
    )
    while not stop.wait(0.5):
        pass
    logger.info("Replay exchange stopping ...")
    background.stop()
    logger.info("Replay exchange stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
