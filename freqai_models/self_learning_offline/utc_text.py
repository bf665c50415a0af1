"""Epoch milliseconds as UTC text: the offline tools' one home for the dates they print or name.

One conversion (`utc_datetime`), three spellings, each for its reader:

* `utc_minute`: `2026-12-06 01:02 UTC`, the dry-run's start line and clock.json's `started`,
  read by a person next to the bot's log (the tests pin the line).
* `utc_iso`: `2026-12-06T01:02:03Z`, the replay exchange's start line, spelled as the model's
  logs spell dates (`self_learning.candles.timeline.iso_utc`, which this package may not import:
  the model and its tools stay apart).
* `utc_stamp`: `20261206T0102Z`, part of a folder name (no spaces or colons).
"""

from __future__ import annotations

from datetime import UTC, datetime


def utc_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def utc_minute(ms: int) -> str:
    return utc_datetime(ms).strftime("%Y-%m-%d %H:%M UTC")


def utc_iso(ms: int) -> str:
    return utc_datetime(ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_stamp(ms: int) -> str:
    return utc_datetime(ms).strftime("%Y%m%dT%H%MZ")
