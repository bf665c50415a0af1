"""Seeded synthetic crypto market: the project's default demo, test and benchmark data.

Owns the generator and nothing of the model: `timeframes` (the candle grid), `assets` (what a
pair's name sets: price, volatility, volume, tick, seed), `price_model` (the one-minute
stochastic market: GARCH, regimes, seasonality), `scenario` (`EdgeFlip`, an edge that changes
sign; `EdgeFade`, an edge that vanishes; `EdgeEmerge`, an edge that appears; `EdgeReverse`,
trend following that turns into mean reversion; `EdgeGlide`, an edge that turns gradually;
`VolatilityShock`, an edge whose volatility multiplies; `MeanReversion`, the demo's edge that
stays; `RandomWalk`, no edge), `candles` (`generate_candles`: minutes aggregated to any
timeframe, rounded to a tick), `files` (freqtrade's feather names, atomic writes) and the CLI
in `__main__`:

    python -m self_learning_offline.market --out DIR --pairs BTC/USDT ETH/USDT \\
        --timeframe 5m 15m 1h --days 30 --seed 42 [--end YYYYMMDD]
        [--flip-day N | --mean-reversion [MINUTES]]

The same pair, timeframe, start, length, seed and scenario give the same candles bit for bit.
The model package `self_learning` never imports it, and it imports nothing from
`self_learning`.
"""

from self_learning_offline.market.candles import generate_candles
from self_learning_offline.market.files import pair_filename, write_feather
from self_learning_offline.market.scenario import (
    EdgeEmerge,
    EdgeFade,
    EdgeFlip,
    EdgeGlide,
    EdgeReverse,
    MeanReversion,
    RandomWalk,
    VolatilityShock,
)
from self_learning_offline.market.timeframes import parse_timeframe, span

__all__ = [
    "EdgeEmerge",
    "EdgeFade",
    "EdgeFlip",
    "EdgeGlide",
    "EdgeReverse",
    "MeanReversion",
    "RandomWalk",
    "VolatilityShock",
    "generate_candles",
    "pair_filename",
    "parse_timeframe",
    "span",
    "write_feather",
]
