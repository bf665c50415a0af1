"""Give freed heap memory back to the operating system (glibc's `malloc_trim`).

A bot that runs for days allocates and frees all the time: the frames FreqAI grows by a row
per candle, the numpy copies of every save, TensorFlow's tensors. glibc keeps most freed
chunks in its arenas, so the process's RSS creeps up although the memory in use does not
(benchmarks/soak.py, 20 pairs at 1m: ~1 MB per minute without trimming, flat with it).
`malloc_trim(0)` returns those pages (0.3-3 ms measured). The saver's idle worker calls it
once per `min_interval_s` (never the trading thread); without glibc it does nothing.

At the end of a process that ends with its run (a backtest), `leave_to_the_os` hands the whole
heap to the operating system instead of to CPython's finalization, which otherwise runs full
garbage collections over every object still alive (TensorFlow's traced graphs, freqtrade's
frames): ~2.5 s of CPU after the last line of a 1h holdout backtest, 0.5 s with it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

MIN_INTERVAL_S = 60.0


def glibc_malloc_trim() -> Callable[[], object] | None:
    """`malloc_trim(0)` of the C library, or None where there is none (macOS, musl, ...)."""
    name = ctypes.util.find_library("c")
    try:
        trim = ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None
    if trim is None:
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


class HeapTrimmer:
    """Rate-limited heap trimming: `maybe_trim()` trims when the last trim is old enough."""

    def __init__(self, min_interval_s: float = MIN_INTERVAL_S,
                 trim: Callable[[], object] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.min_interval_s = float(min_interval_s)
        self._trim = trim if trim is not None else glibc_malloc_trim()
        self._clock = clock
        self._last = None
        self._lock = threading.Lock()
        self.trims = 0

    def maybe_trim(self) -> bool:
        """Trim now unless one ran within `min_interval_s`; True when it trimmed."""
        if self._trim is None:
            return False
        with self._lock:
            now = self._clock()
            if self._last is not None and now - self._last < self.min_interval_s:
                return False
            self._last = now
        self._trim()
        self.trims += 1
        return True


def leave_to_the_os() -> None:
    """For the end of the process: the objects alive now are never collected again
    (`gc.freeze`), so the interpreter's finalization does not walk them; the operating system
    takes the memory back at exit. Objects made afterwards are collected as usual. Only for a
    process about to end: cyclic garbage among the frozen objects is never freed, and no
    finalizer of such garbage runs (CPython does not promise them at exit either)."""
    gc.freeze()
