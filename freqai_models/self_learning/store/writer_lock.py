"""One writer per store: an exclusive `flock` on `<store>.lock` beside the store folder.

The first process that writes a store (or that calls `hold` when it starts) takes the lock and
keeps it for its life; the kernel drops it when the process ends, however it ends. Another
process then gets StoreInUse naming the folder and the PID written in the lock file, instead
of both writing versions and each deleting the other's save in flight. Every store object of
one process shares the process's lock (a second `flock` on the same file would conflict).
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from self_learning.store.errors import StoreError, StoreInUse, explain

_HELD: dict[str, int] = {}  # resolved store folder -> the open lock file
_GUARD = threading.Lock()


def lock_path(root: Path) -> Path:
    """`.../self_learning/<identifier>` -> `.../self_learning/<identifier>.lock`."""
    return Path(root).parent / f"{Path(root).name}.lock"


def hold(root: Path) -> None:
    """Take (or confirm) this process's lock on the store at `root`; StoreInUse when another
    process holds it."""
    key = str(Path(root).resolve(strict=False))
    path = lock_path(Path(key))
    with _GUARD:
        fd = _HELD.get(key)
        if fd is not None and _same_file(fd, path):
            return
        if fd is not None:  # the lock file was deleted (e.g. with the model folder): again
            os.close(fd)
            del _HELD[key]
        _HELD[key] = _acquire(path, Path(root))


def release(root: Path) -> None:
    """Drop this process's lock on `root` (tests; a process normally holds it until exit)."""
    key = str(Path(root).resolve(strict=False))
    with _GUARD:
        fd = _HELD.pop(key, None)
    if fd is not None:
        os.close(fd)


def holder(root: Path) -> str | None:
    """Who holds the lock on the store at `root` ("PID 1234"), None when nobody does or it has
    no lock file; the check takes no lock a writer could miss (a shared one, at once released)."""
    try:
        fd = os.open(lock_path(Path(root)), os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _holder(fd)
    finally:
        os.close(fd)
    return None


def _acquire(path: Path, root: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as err:
        raise (explain(err, path, "taking the store's lock") or StoreError(
            f"Cannot create the lock file {path} ({err})")) from err
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _holder(fd)
        os.close(fd)
        raise StoreInUse(
            f"The model store {root} is in use by process {holder} (it holds {path}); two "
            "bots must not share one freqai.identifier and user_data folder: stop that "
            "process or give this bot its own identifier.") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _holder(fd: int) -> str:
    text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    return f"PID {text}" if text.isdigit() else "another process (PID not yet written)"


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except OSError:
        return False
