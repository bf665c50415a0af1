"""config.replay.json from one port: the only place the replay exchange's address is set.

ccxt reaches Binance through 22 API base URLs (`ccxt.binance().urls["api"]`); the overlay
points every one of them at the replay exchange on 127.0.0.1, keeping each URL's path, so
no request can leave the machine. They are derived here from the port, never edited by
hand: `python -m self_learning_offline.replay_exchange.overlay --port 8801 --out my.replay.json`.
The committed config.replay.json is this module's output for the default port (a test keeps
them equal, so a ccxt upgrade that adds an API group shows up there).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

from self_learning_offline.replay_exchange.server import DEFAULT_PORT, HOST

OVERLAY_NAME = "config.replay.json"


def replay_url(port: int = DEFAULT_PORT) -> str:
    return f"http://{HOST}:{int(port)}"


def api_urls(port: int = DEFAULT_PORT) -> dict[str, str]:
    """Every Binance API base URL of ccxt, moved to the replay exchange (path kept)."""
    import ccxt

    return {name: replay_url(port) + urlsplit(url).path
            for name, url in sorted(ccxt.binance().urls["api"].items())}


def replay_overlay(port: int = DEFAULT_PORT) -> dict:
    """The freqtrade config overlay that trades against the replay exchange on `port`."""
    return {
        "dry_run": True,
        "telegram": {"enabled": False, "token": "", "chat_id": ""},
        "exchange": {
            "name": "binance",
            "enable_ws": False,
            "only_from_ccxt": True,
            "ccxt_config": {
                "enableRateLimit": False,
                "urls": {"api": api_urls(port)},
                "options": {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False,
                            "fetchMargins": False},
            },
        },
    }


def overlay_text(port: int = DEFAULT_PORT) -> str:
    return json.dumps(replay_overlay(port), indent=4) + "\n"


def write_replay_overlay(dest: Path, port: int) -> Path:
    Path(dest).write_text(overlay_text(port))
    return Path(dest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"the replay exchange's port (default {DEFAULT_PORT})")
    parser.add_argument("--out", type=Path, help="write here instead of printing it")
    args = parser.parse_args(argv)
    if args.out is None:
        sys.stdout.write(overlay_text(args.port))
    else:
        write_replay_overlay(args.out, args.port)
        print(f"wrote {args.out} for the replay exchange on {replay_url(args.port)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
