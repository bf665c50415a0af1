"""Test helper: a store's writer lock held by another process, as a running bot holds it.

`lock_held_elsewhere(store)` starts a Python process that takes `store`'s writer lock
(self_learning.store.writer_lock.hold) and keeps it until the `with` block ends; it yields the
process's PID, the one the lock names.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from conftest import freqtrade_env


@contextmanager
def lock_held_elsewhere(store: Path) -> Iterator[int]:
    """The PID of a process holding `store`'s writer lock until the block ends (it has taken
    the lock when this yields)."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from self_learning.store import writer_lock; "
            f"writer_lock.hold({str(store)!r}); print('held', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=freqtrade_env(),
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield holder.pid
    finally:
        holder.communicate("", timeout=30)
