"""The store's own errors: what went wrong, with the path and what to do, instead of a raw
TensorFlow or OS error (the adapter turns them into freqtrade's OperationalException)."""

from __future__ import annotations

import errno
from pathlib import Path


class StoreError(RuntimeError):
    """A store operation failed for a reason the user can fix; the message says how."""


class StoreInUse(StoreError):
    """Another process writes this store (one writer per store)."""


class StoreConflict(StoreError):
    """Two folders hold the store of one bot (relocation.py); the user chooses which."""


def explain(err: BaseException, path: Path, doing: str) -> StoreError | None:
    """A StoreError naming `path` for permission and disk-full errors (Python's or
    TensorFlow's); None for anything else."""
    text = str(err)
    if isinstance(err, PermissionError) or _tf_error(err, "PermissionDeniedError") \
            or "Permission denied" in text:
        where = getattr(err, "filename", None) or path
        return StoreError(f"Permission problem while {doing}: no permission for {where} "
                          f"({_first_line(err)}); give the bot's user read and write access "
                          f"to {path}.")
    if getattr(err, "errno", None) == errno.ENOSPC or "No space left" in text:
        return StoreError(f"The disk is full while {doing} in {path} ({_first_line(err)}); "
                          "free some space (the last complete version stays on disk).")
    return None


def _tf_error(err: BaseException, name: str) -> bool:
    return any(cls.__name__ == name for cls in type(err).__mro__)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return f"{type(err).__name__}: {text[0][:200]}" if text else type(err).__name__
