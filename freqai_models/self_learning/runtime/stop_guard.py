"""StopGuard: a trading bot's SIGTERM is never lost, and a second one never cuts its shutdown
save short.

freqtrade (commands/trade_commands.py) turns SIGTERM into a KeyboardInterrupt raised wherever
the main thread is at that moment. Raised inside Python code whose errors the code calling it
discards (a `__del__`, a weakref or garbage-collection callback, Python code run by a C
function that clears errors), the interrupt is gone: the bot trades on until `docker stop` or
systemd kills it, and the save at shutdown never runs. Seen once in CI: a dry-run bot logged
nothing after its SIGTERM, learned the next candle and was killed 60 s later.

`StopGuard.install(loop)` wraps freqtrade's handler (trade modes only: a backtest keeps
Python's default SIGTERM). `loop` is the code of the bot's main loop (freqtrade's
`Worker.run`); freqtrade's shutdown runs after that loop has been left.

* A SIGTERM goes to freqtrade's handler, unless the stop is under way: an earlier one was
  raised inside the loop and the main thread has left the loop since (freqtrade's cleanup,
  FreqAI's training thread being joined, the shutdown save). Then it is ignored and counted.
  A stop raised during start-up (before the loop) does not count as under way: if it was
  lost, the next SIGTERM (bound_freqtrade's resend, a second `kill`) still stops the start.
* A watcher thread looks every `resend_after_s` after the first SIGTERM: a main thread still
  inside the loop means the interrupt was lost. The watcher logs where it was raised and sends
  SIGTERM again.

`uninstall()` (after the shutdown save) puts freqtrade's handler back and says how many
SIGTERMs were ignored.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import CodeType, FrameType

logger = logging.getLogger(__name__)

RESEND_AFTER_S = 5.0  # the normal stop leaves the loop within milliseconds
WHERE_FRAMES = 3  # innermost frames named when a lost stop is reported

Handler = Callable[[int, FrameType | None], object]


def runs(frame: FrameType | None, code: CodeType) -> bool:
    """Whether `code` is on the stack that `frame` is the innermost frame of."""
    while frame is not None:
        if frame.f_code is code:
            return True
        frame = frame.f_back
    return False


def where(frame: FrameType | None, depth: int = WHERE_FRAMES) -> str:
    """The innermost `depth` frames as `file:line in function`, innermost first."""
    parts = []
    while frame is not None and len(parts) < depth:
        code = frame.f_code
        parts.append(f"{code.co_filename}:{frame.f_lineno} in {code.co_name}")
        frame = frame.f_back
    return " < ".join(parts) or "an unknown place"


class StopGuard:
    def __init__(self, loop: CodeType, previous: Handler,
                 resend_after_s: float = RESEND_AFTER_S):
        self.loop = loop
        self.previous = previous
        self.resend_after_s = resend_after_s
        self.requested = threading.Event()  # a SIGTERM has reached freqtrade's handler
        self.raised_in_loop = False         # ... the last one inside the loop
        self.finished = threading.Event()   # uninstalled: the watcher ends
        self.raised_in = ""                 # where the last interrupt was raised
        self.ignored = 0                    # SIGTERMs ignored while stopping
        self.resent = 0
        self._main = threading.main_thread().ident

    @classmethod
    def install(cls, loop: CodeType,
                resend_after_s: float = RESEND_AFTER_S) -> StopGuard | None:
        """The guard around the current SIGTERM handler, with its watcher started; None
        outside the main thread or when SIGTERM has no Python handler."""
        if threading.current_thread() is not threading.main_thread():
            return None
        previous = signal.getsignal(signal.SIGTERM)
        if not callable(previous):
            return None
        guard = cls(loop, previous, resend_after_s)
        signal.signal(signal.SIGTERM, guard.handle)
        threading.Thread(target=guard.watch, name="stop-guard", daemon=True).start()
        return guard

    def handle(self, signum: int, frame: FrameType | None) -> object:
        """The SIGTERM handler (main thread): freqtrade's, or ignored while stopping."""
        in_loop = runs(frame, self.loop)
        if self.raised_in_loop and not in_loop:
            self.ignored += 1
            return None
        self.raised_in, self.raised_in_loop = where(frame), in_loop
        self.requested.set()
        return self.previous(signum, frame)

    def watch(self) -> None:
        """Send SIGTERM again while, after a stop request, the main thread runs the loop."""
        self.requested.wait()
        while not self.finished.wait(self.resend_after_s):
            if not runs(sys._current_frames().get(self._main), self.loop):
                continue  # the stop is under way (or the bot still starts)
            self.resent += 1
            logger.warning(f"SIGTERM was received, but the bot still runs: its interrupt, "
                           f"raised at {self.raised_in}, never reached freqtrade's main. "
                           f"Sending SIGTERM again ({self.resent}).")
            os.kill(os.getpid(), signal.SIGTERM)

    def uninstall(self) -> None:
        """freqtrade's handler back (from the main thread, if ours is still installed); the
        watcher ends."""
        self.finished.set()
        self.requested.set()
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGTERM) == self.handle):
            signal.signal(signal.SIGTERM, self.previous)
        if self.ignored:
            logger.info(f"SIGTERM arrived {self.ignored} more time(s) while stopping: ignored, "
                        "so the save at shutdown could finish.")
