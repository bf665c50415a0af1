"""Scenarios of the generated market: `EdgeFlip`, whose predictable edge changes sign at a
moment, `EdgeFade`, whose edge vanishes at a moment, `EdgeEmerge`, whose edge appears at a
moment, `EdgeReverse`, EdgeFlip mirrored (trend following, then mean reversion), `EdgeGlide`,
whose edge turns from mean reversion to trend following gradually over days,
`VolatilityShock`, whose edge stays while its volatility multiplies at a moment,
`MeanReversion`, the same edge kept all the time (the demo market: a learnable edge whose best
candles clear a round trip of fees), and `RandomWalk`, which has no edge at all (the quality
benchmark's null control).

Every scenario gives `edge(minutes)`, the per-minute coefficient on the gap between the log
price and its exponential moving average, and `volatility(minutes)`, a per-minute multiplier
of the regimes' volatility (1 unless the scenario changes it).

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


def time_scaled(strength: float, minutes: float) -> float:
    """A pull of `strength` per minute towards a 60-minute average, moved to an average over
    `minutes`: `strength` x 60 / `minutes`, so the gap lasts `minutes` / 60 times longer (and,
    the shocks being per minute, is that many times larger in variance). Candles `minutes` / 60
    times longer then see the edge 5m candles see of the 60-minute market."""
    if minutes < 1.0:
        raise ValueError(f"minutes {minutes} must be 1 or more.")
    return strength * (FLIP_AVERAGE_MINUTES / minutes)


def _check_moment(name: str, moment: datetime) -> None:
    if moment.tzinfo is None:
        raise ValueError(f"{name} {moment} must be timezone-aware (UTC).")


def _from(moment: datetime, minutes: pd.DatetimeIndex) -> np.ndarray:
    """True for the minutes at or after `moment`."""
    return np.asarray(minutes >= pd.Timestamp(moment))


class _SteadyVolatility:
    """The regimes' volatility unchanged: the `volatility` of every scenario but
    VolatilityShock."""

    def volatility(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute multiplier of the regimes' volatility: always 1."""
        return np.ones(len(minutes))


@dataclass(frozen=True)
class EdgeFlip(_SteadyVolatility):
    """Scenario: mean reversion towards the price's moving average until `flip_at` (UTC),
    trend following away from it after (see the module docstring)."""

    flip_at: datetime
    strength: float = FLIP_STRENGTH
    average_minutes: float = FLIP_AVERAGE_MINUTES

    def __post_init__(self):
        _check_moment("flip_at", self.flip_at)
        if not 0.0 < self.strength < 2.0 / (self.average_minutes + 1.0):
            raise ValueError(
                f"strength {self.strength} must be in (0, 2 / (average_minutes + 1)) = "
                f"(0, {2.0 / (self.average_minutes + 1.0):.4f}): a stronger push makes the "
                "trend-following half explode.")

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): -strength, then +strength."""
        return np.where(_from(self.flip_at, minutes), self.strength, -self.strength)


# The demo market's pull (MeanReversion): the strongest the flip scenario allows. Its best 5 %
# of 5m candles by the exact 60-minute gap realize about +0.3 % over the next 12 candles, the
# 0.2 % round trip of fees and a little more (docs/hourly.md "The demo market").
DEMO_STRENGTH = 0.03
# The 1h demo market (`make demo`, config.json's 1h setup): the same pull on a 12 times longer
# time scale (MeanReversion.over(720)), so that its 1h candles look like the 60-minute
# market's 5m candles.
HOURLY_DEMO_MINUTES = 720


@dataclass(frozen=True)
class MeanReversion(_SteadyVolatility):
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
        average spans `minutes` and the pull per minute is time_scaled(DEMO_STRENGTH,
        `minutes`). `over(60)` is `MeanReversion()`."""
        return cls(time_scaled(DEMO_STRENGTH, minutes), float(minutes))

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): always -strength."""
        return np.full(len(minutes), -self.strength)


@dataclass(frozen=True)
class RandomWalk(_SteadyVolatility):
    """Scenario: no edge at any horizon. The regimes keep their volatility (GARCH clustering,
    fat tails, seasonality) but lose their drift and range pull, and no edge replaces them: the
    log price is a martingale, so no signal of past candles predicts a later return. The null
    control of `benchmarks/quality.py --scenario null`."""

    average_minutes: float = FLIP_AVERAGE_MINUTES

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): always 0."""
        return np.zeros(len(minutes))


@dataclass(frozen=True)
class EdgeFade(_SteadyVolatility):
    """Scenario: EdgeFlip's mean reversion until `fade_at` (UTC), no edge at all from then on
    (a RandomWalk: the yardstick's IC falls to 0). For benchmarks of what a model and its
    strategy do once the edge they learned is gone (`quality.py --scenario fade`)."""

    fade_at: datetime
    strength: float = FLIP_STRENGTH
    average_minutes: float = FLIP_AVERAGE_MINUTES

    def __post_init__(self):
        _check_moment("fade_at", self.fade_at)
        MeanReversion(self.strength, self.average_minutes)  # the same bounds

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): -strength, then 0."""
        return np.where(_from(self.fade_at, minutes), 0.0, -self.strength)


@dataclass(frozen=True)
class EdgeEmerge(_SteadyVolatility):
    """Scenario: EdgeFade mirrored: no edge at all until `emerge_at` (UTC, a RandomWalk),
    EdgeFlip's mean reversion from then on (the yardstick's IC rises from 0). For benchmarks
    of whether and how fast a model picks up an edge its training never saw
    (`quality.py --scenario emerge`)."""

    emerge_at: datetime
    strength: float = FLIP_STRENGTH
    average_minutes: float = FLIP_AVERAGE_MINUTES

    def __post_init__(self):
        _check_moment("emerge_at", self.emerge_at)
        MeanReversion(self.strength, self.average_minutes)  # the same bounds

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): 0, then -strength."""
        return np.where(_from(self.emerge_at, minutes), -self.strength, 0.0)


@dataclass(frozen=True)
class EdgeReverse(_SteadyVolatility):
    """Scenario: EdgeFlip mirrored: trend following (the yardstick's IC negative) until
    `reverse_at` (UTC), mean reversion from then on (`quality.py --scenario reverse`). The
    push is bounded as EdgeFlip's, so the trend-following half stays stationary."""

    reverse_at: datetime
    strength: float = FLIP_STRENGTH
    average_minutes: float = FLIP_AVERAGE_MINUTES

    def __post_init__(self):
        _check_moment("reverse_at", self.reverse_at)
        EdgeFlip(self.reverse_at, self.strength, self.average_minutes)  # the same bounds

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): +strength, then -strength."""
        return np.where(_from(self.reverse_at, minutes), -self.strength, self.strength)


# EdgeGlide's default span: 3 days, the days before the change of the 5m layout.
GLIDE_DAYS = 3.0


@dataclass(frozen=True)
class EdgeGlide(_SteadyVolatility):
    """Scenario: EdgeFlip's change made gradual: mean reversion until `days` before
    `glide_end` (UTC), then the per-minute coefficient moves linearly from -strength to
    +strength, trend following from `glide_end` on (no jump for a detector of jumps to see;
    `quality.py --scenario glide`, scored after from the end of the glide). Bounded as
    EdgeFlip, so the trend-following end stays stationary."""

    glide_end: datetime
    strength: float = FLIP_STRENGTH
    average_minutes: float = FLIP_AVERAGE_MINUTES
    days: float = GLIDE_DAYS

    def __post_init__(self):
        _check_moment("glide_end", self.glide_end)
        EdgeFlip(self.glide_end, self.strength, self.average_minutes)  # the same bounds
        if not self.days > 0.0:
            raise ValueError(f"days {self.days} must be above 0: the span of the glide.")

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): -strength, a straight line to
        +strength over the `days` before `glide_end`, +strength from it on."""
        span = pd.Timedelta(days=self.days)
        start = pd.Timestamp(self.glide_end) - span
        done = np.clip(np.asarray((minutes - start) / span, dtype=float), 0.0, 1.0)
        return self.strength * (2.0 * done - 1.0)


# VolatilityShock's default: volatility three times the regimes' from the shock on.
SHOCK_FACTOR = 3.0


@dataclass(frozen=True)
class VolatilityShock:
    """Scenario: EdgeFlip's mean reversion all the time, with every minute's volatility
    multiplied by `factor` from `shock_at` (UTC) on. The gap to the average scales with the
    shocks, so the edge (the yardstick's IC) is unchanged while returns are `factor` times
    larger: for benchmarks of a model whose features leave their training range
    (`quality.py --scenario volshock`)."""

    shock_at: datetime
    factor: float = SHOCK_FACTOR
    strength: float = FLIP_STRENGTH
    average_minutes: float = FLIP_AVERAGE_MINUTES

    def __post_init__(self):
        _check_moment("shock_at", self.shock_at)
        if not self.factor > 0.0:
            raise ValueError(f"factor {self.factor} must be above 0: the multiplier of the "
                             "volatility from shock_at on.")
        MeanReversion(self.strength, self.average_minutes)  # the same bounds

    def edge(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute coefficient on (log price - its average): always -strength."""
        return np.full(len(minutes), -self.strength)

    def volatility(self, minutes: pd.DatetimeIndex) -> np.ndarray:
        """Per-minute multiplier of the regimes' volatility: 1, then `factor`."""
        return np.where(_from(self.shock_at, minutes), self.factor, 1.0)


Scenario = (EdgeFlip | EdgeFade | EdgeEmerge | EdgeReverse | EdgeGlide | VolatilityShock
            | MeanReversion | RandomWalk)
