"""Candle times for people, and the rule against restores that travel in time.

A stored learner remembers the last candle it learned and the last one it saw. Restoring it
for data that ends before those candles would hand it the future of what it is about to train
on or predict (a dry-run's store in a backtest of last year, a clock gone wrong): every
incremental update would find nothing new to learn, and the predictions would come from a
model that has seen what follows. Such a restore is refused.
"""

from __future__ import annotations

import datetime as dt

NEVER = -1  # a timestamp meaning "nothing yet" (learner state, store metadata)


class RestoreRefused(RuntimeError):
    """A stored learner that knows candles later than the data it would be used on."""


def iso_utc(ts: int | None) -> str:
    """`1796113680` -> `2026-12-01T08:28:00Z`; NEVER/None -> `none`."""
    if ts is None or int(ts) == NEVER:
        return "none"
    return dt.datetime.fromtimestamp(int(ts), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def known_until(last_learned_ts: int, last_seen_ts: int, novelty_folded_ts: int = NEVER) -> int:
    """The newest candle a stored learner has learned, seen or folded into its novelty
    statistics (NEVER if none)."""
    return max(int(last_learned_ts), int(last_seen_ts), int(novelty_folded_ts))


def travels_in_time(stored_until: int, newest_ts: int | None) -> bool:
    """True when the store knows a candle later than the newest candle of the data now given
    (`newest_ts` None: nothing to compare, e.g. a lookup without candles)."""
    return newest_ts is not None and stored_until != NEVER and stored_until > int(newest_ts)
