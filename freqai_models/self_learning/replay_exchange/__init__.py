"""Offline Binance-compatible spot exchange on 127.0.0.1, replaying freqtrade feather candles.

Start with `python -m self_learning.replay_exchange --datadir DIR [--port 8701] [--realtime]`;
point freqtrade at it with `config.replay.json` as a second `-c`.
"""

from self_learning.replay_exchange.candles import Candles, Market, load_recordings
from self_learning.replay_exchange.server import (
    DEFAULT_PORT,
    BackgroundServer,
    ReplayExchange,
    build_exchange,
)

__all__ = [
    "DEFAULT_PORT",
    "BackgroundServer",
    "Candles",
    "Market",
    "ReplayExchange",
    "build_exchange",
    "load_recordings",
]
