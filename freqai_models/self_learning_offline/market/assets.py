"""What a pair's name sets in its generated market: start price, volatility, volume, tick, seed.

Well-known assets get rough real-world USD prices, daily volatilities and traded USD per minute;
an unknown base asset draws its price from the pair's own random stream. Pure functions.
"""

from __future__ import annotations

import math
import re
import zlib
from dataclasses import dataclass

import numpy as np

from self_learning_offline.market.timeframes import MINUTES_PER_DAY

PAIR_PATTERN = re.compile(r"^[A-Z0-9]+/[A-Z0-9]+$")
STABLECOINS = frozenset({"USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "USD"})
# Rough USD prices, daily volatilities and traded USD per minute of well-known assets.
REFERENCE_USD = {"BTC": 42000.0, "ETH": 2500.0, "BNB": 310.0, "SOL": 100.0, "XRP": 0.6,
                 "ADA": 0.5, "DOGE": 0.08, "LTC": 70.0, "DOT": 7.0, "LINK": 15.0}
DAILY_VOL = {"BTC": 0.028, "ETH": 0.036}
DEFAULT_DAILY_VOL = 0.05
USD_PER_MINUTE = {"BTC": 600_000.0, "ETH": 300_000.0}
DEFAULT_USD_PER_MINUTE = 40_000.0


@dataclass(frozen=True)
class MarketModel:
    """Per-pair model constants derived from the pair name (and the seed for unknown assets)."""

    start_price: float
    minute_vol: float
    minute_volume: float  # base-asset volume of an average minute
    tick: float


def pair_seed(pair: str, seed: int) -> np.random.SeedSequence:
    """Stable per-pair seed (crc32, not Python's salted hash)."""
    return np.random.SeedSequence([seed, zlib.crc32(pair.encode())])


def market_model(pair: str, rng: np.random.Generator) -> MarketModel:
    """The constants of `pair` ('BASE/QUOTE'); `rng` prices an unknown base asset."""
    base, quote = pair.split("/")
    base_usd = REFERENCE_USD.get(base, float(10 ** rng.uniform(-2, 2)))
    quote_usd = 1.0 if quote in STABLECOINS else REFERENCE_USD.get(quote, 1.0)
    price = base_usd / quote_usd
    minute_vol = DAILY_VOL.get(base, DEFAULT_DAILY_VOL) / math.sqrt(MINUTES_PER_DAY)
    minute_volume = USD_PER_MINUTE.get(base, DEFAULT_USD_PER_MINUTE) / base_usd
    tick = 10.0 ** (math.floor(math.log10(price)) - 5)
    return MarketModel(price, minute_vol, minute_volume, tick)
