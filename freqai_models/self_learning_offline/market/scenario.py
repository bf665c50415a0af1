"""Scenarios of the generated market: `EdgeFlip`, whose predictable edge changes sign at a
moment, `MeanReversion`, the same edge kept all the time (the demo market: a learnable edge
whose best candles clear a round trip of fees), and `RandomWalk`, which has no edge at all
(the quality benchmark's null control).

EdgeFlip:

The regimes keep their volatility but lose their drift and range pull; instead every minute's
return is pulled towards an exponential moving average of the price (mean reversion: the
yardstick -(close / SMA20 - 1) of 5m candles has a positive IC) until `flip_at`, and pushed
away from it (trend following: the same yardstick's IC turns negative) from then on. For
benchmarks of how fast a model notices that its edge flipped (CLI `--flip-day N`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

# Per-minute pull towards (before the flip) or push away from (after) the price's exponential
# moving average, as a fraction of the gap; below the average's own per-minute weight
# (2 / (FLIP_AVERAGE_MINUTES + 1)), so the trend-following half stays stationary.
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


# The demo market's pull (MeanReversion): the strongest the flip scenario allows. Its best 5 %
# of 5m candles by the exact 60-minute gap realize about +0.3 % over the next 12 candles, the
# 0.2 % round trip of fees and a little more (docs/hourly.md "The demo market").
DEMO_STRENGTH = 0.03
# The 1h demo market (`make demo`, config.json's 1h setup): the same pull on a 12 times longer
# time scale (MeanReversion.over(720)), so that its 1h candles look like the 60-minute
# market's 5m candles.
HOURLY_DEMO_MINUTES = 720


@dataclass(frozen=True)
class MeanReversion:
    """Scenario: EdgeFlip's mean reversion, never flipped: every minute's return is pulled
    towards the price's exponential moving average by `strength` of the gap. The regimes
    keep their volatility and lose their drift and range pull, as in EdgeFlip."""

    strength: float = DEMO_STRENGTH
    average_minutes: float = FLIP_AVERAGE_MINUTES

    def __post_init__(self):
        if not 0.0 < self.strength < 1.0:
            raise ValueError(f"strength {self.strength} must be in (0, 1): the share of the gap "
                             "to the moving average pulled back per minute.")
        if self.average_minutes < 1.0:
            raise ValueError(f"average_minutes {self.average_minutes} must be 1 or more.")

    @classmethod
    def over(cls, minutes: float) -> MeanReversion:
        """The demo market's mean reversion on a time scale of `minutes` instead of 60: the
        average spans `minutes` and the pull per minute is DEMO_STRENGTH * 60 / `minutes`, so
        the gap lasts `minutes` / 60 times longer (and, the shocks being per minute, is that
        many times larger in variance): candles `minutes` / 60 times longer see the edge the
        60-minute market shows its 5m candles. `over(60)` is `MeanReversion()`."""
        if minutes < 1.0:
            raise ValueError(f"minutes {minutes} must be 1 or more.")
        return cls(DEMO_STRENGTH * (FLIP_AVERAGE_MINUTES / minutes), float(minutes))

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): always -strength."""
        return np.full(len(minutes), -self.strength)


@dataclass(frozen=True)
class RandomWalk:
    """Scenario: no edge at any horizon. The regimes keep their volatility (GARCH clustering,
    fat tails, seasonality) but lose their drift and range pull, and no edge replaces them: the
    log price is a martingale, so no signal of past candles predicts a later return. The null
    control of `benchmarks/quality.py --scenario null`."""

    average_minutes: float = FLIP_AVERAGE_MINUTES

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): always 0."""
        return np.zeros(len(minutes))
