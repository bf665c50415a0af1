"""Offline Binance-compatible spot exchange on 127.0.0.1, replaying freqtrade feather candles.

Owns Binance's REST dialect and nothing of the model: `candles` (recordings and windows),
`realtime` (a recording replayed on the present time grid), `binance_api` (request ->
response), `server` (HTTP on 127.0.0.1), `overlay` (config.replay.json from a port),
`process` (the exchange as a subprocess for tests, benchmarks and scripts), `ports` (is a
port free, which process holds it) and the CLI in `__main__`. The model package
`self_learning` never imports it, and it imports nothing from `self_learning`.

Start with
`python -m self_learning_offline.replay_exchange --datadir DIR [--port 8701] [--realtime]`;
point freqtrade at it with `config.replay.json` as a second `-c`.
"""

from self_learning_offline.replay_exchange.candles import Candles, Market, load_recordings
from self_learning_offline.replay_exchange.server import (
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
