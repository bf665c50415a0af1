"""Retention policy: which versions to remove. Pure, so it is tested from a table."""

from __future__ import annotations

from collections.abc import Iterable


def versions_to_remove(
    versions: Iterable[int], keep: int, protect: Iterable[int] = ()
) -> list[int]:
    """Keep the newest `keep` versions (and any in `protect`); return the rest, oldest first.

    `versions` are the store's own version numbers (folders carrying our metadata); foreign or
    unreadable folders must not be passed in, so they can never be selected.
    """
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise ValueError(f"keep must be an int >= 1, got {keep!r}")
    ordered = sorted(set(versions), reverse=True)
    protected = set(protect)
    return sorted(v for v in ordered[keep:] if v not in protected)
