"""StatsPool: the wide head's statistics shared across pairs, never ahead of time.

Each pair learns its own statistics (in its own standardised units, checkpointed with its
networks); the pool holds what every pair has published and answers "what did the other pairs
know at time t": the sum of each other pair's newest snapshot whose `as_of` is not later than
t, discounted to t. In live trading all pairs move together, so the newest snapshot is enough
(`keep_history=False`). In backtests FreqAI runs one pair over the whole timerange before the
next one starts, so the pool keeps every snapshot and a later pair reads an earlier pair's
statistics as of each of its own windows: nothing learned from candles after the candle being
predicted can reach a prediction (tests/test_pool.py plants such a leak).

The history is bounded (`budget_bytes`): when it would grow past it (long backtests of many
pairs), every other snapshot of the older half of the longest history is dropped, so a later
pair reads a somewhat staler snapshot, never a later one.

Pure numpy and a lock; knows nothing of TensorFlow or freqtrade.
"""

from __future__ import annotations

import bisect
import logging
import threading

import numpy as np

from self_learning.returns.moments import Moments

logger = logging.getLogger(__name__)
BUDGET_BYTES = 256 * 2**20  # snapshot history kept for backtests


class StatsPool:
    def __init__(self, n_features: int, half_life_s: float, keep_history: bool,
                 budget_bytes: int = BUDGET_BYTES):
        self.n_features = int(n_features)
        self.half_life_s = float(half_life_s)
        self.keep_history = bool(keep_history)
        self.budget_bytes = int(budget_bytes)
        self._snapshots: dict[str, list[Moments]] = {}
        self._lock = threading.Lock()
        self._thinned = False

    def publish(self, pair: str, stats: Moments) -> None:
        """Add a pair's statistics, valued at the time all they hold was known (`as_of`)."""
        if stats.b.shape != (self.n_features,):
            raise ValueError(f"{pair}: statistics of {stats.b.shape[0]} features in a pool of "
                             f"{self.n_features}")
        frozen = Moments(np.array(stats.a, np.float32), np.array(stats.b, np.float32),
                             float(stats.n), int(stats.as_of))
        with self._lock:
            history = self._snapshots.setdefault(pair, [])
            if not self.keep_history:
                history[:] = [frozen]
                return
            keys = [s.as_of for s in history]
            at = bisect.bisect_right(keys, frozen.as_of)
            if at and keys[at - 1] == frozen.as_of:
                history[at - 1] = frozen
            else:
                history.insert(at, frozen)
            self._bound()

    def _bound(self) -> None:
        size = (self.n_features + 1) * self.n_features * 4
        while sum(len(h) for h in self._snapshots.values()) * size > self.budget_bytes:
            longest = max(self._snapshots.values(), key=len)
            if len(longest) < 4:
                return
            half = len(longest) // 2
            longest[:half] = longest[:half][1::2]
            if not self._thinned:
                self._thinned = True
                logger.info("Cross-pair statistics of this run exceed %d MB: older snapshots "
                            "are thinned out (later pairs read staler ones, never later ones).",
                            self.budget_bytes // 2**20)

    def others(self, pair: str, as_of: int) -> Moments:
        """Sum over every other pair of its newest snapshot with `as_of` <= `as_of`, discounted
        to `as_of`; zeros when no other pair knows anything yet."""
        a = np.zeros((self.n_features, self.n_features), np.float64)
        b = np.zeros(self.n_features, np.float64)
        n = 0.0
        with self._lock:
            for other, history in self._snapshots.items():
                if other == pair:
                    continue
                at = bisect.bisect_right([s.as_of for s in history], as_of)
                if at == 0:
                    continue
                known = history[at - 1].at(as_of, self.half_life_s)
                a += known.a
                b += known.b
                n += known.n
        return Moments(a.astype(np.float32), b.astype(np.float32), n, int(as_of))

    def change_points(self, pair: str, after: int, until: int) -> list[int]:
        """The times in (after, until] at which what `others(pair, t)` returns changes (an
        other pair's snapshot becomes known): a block of candles spanning one is stepped in
        parts, so no candle uses statistics that were not known yet, nor staler ones."""
        with self._lock:
            times = {s.as_of for other, history in self._snapshots.items() if other != pair
                     for s in history if after < s.as_of <= until}
        return sorted(times)

    def pairs(self) -> list[str]:
        with self._lock:
            return sorted(self._snapshots)


class PoolsByFeatures:
    """The StatsPools of one runtime, one per feature list (`pool_key`): the pairs whose
    features are the same share their wide statistics; a pool is made on first use."""

    def __init__(self, half_life_s: float, keep_history: bool):
        self.half_life_s = float(half_life_s)
        self.keep_history = bool(keep_history)
        self._pools: dict[tuple[str, ...], StatsPool] = {}

    def for_pair(self, pair: str, feature_names: list[str]) -> StatsPool:
        key = pool_key(pair, feature_names)
        pool = self._pools.get(key)
        if pool is None:
            pool = StatsPool(len(feature_names), self.half_life_s, self.keep_history)
            self._pools[key] = pool
        return pool


def pool_key(pair: str, feature_names: list[str]) -> tuple[str, ...]:
    """Which pairs pool their wide statistics: those whose features are the same up to the
    pair's own name (FreqAI names a feature `%-rsi-period_10_BTC/USDT_5m`)."""
    return tuple(name.replace(pair, "{pair}") for name in feature_names)
