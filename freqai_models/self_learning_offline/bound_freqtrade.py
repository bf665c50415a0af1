"""`python -m self_learning_offline.bound_freqtrade ARGS`: freqtrade's CLI (exactly what
`python -m freqtrade ARGS` runs), as a child that cannot outlive the script that started it.

Three gaps of a plain `python -m freqtrade` child are closed here:

* One stop, one SIGTERM: `STOP_SIGNAL` (SIGUSR2) asks the bot to stop - sent by the parent
  script, and by the kernel when the parent dies (the parent-death signal of
  `children.bound_popen_options` is re-armed to it here). The kernel may deliver that once
  per thread, and a stop can race the parent's death: a second SIGTERM would interrupt
  freqtrade's shutdown save, so only the first request becomes a SIGTERM (freqtrade's
  graceful stop; it saves the models).
* A SIGTERM or SIGINT during the bot's start-up (freqtrade turns both into KeyboardInterrupt)
  returns from freqtrade's main before its worker exists, so nothing stops the API server's
  non-daemon thread and the process never exits. Here the process ends once freqtrade's main
  has returned and remaining threads had `EXIT_GRACE_S` to finish.
* Should the bot's shutdown hang after its parent died, a watcher ends the process
  `ORPHAN_DEADLINE_S` later (enough for the shutdown save).
* A stop whose KeyboardInterrupt is raised where Python ignores exceptions (a weakref or
  garbage-collection callback, a `__del__`: "Exception ignored in ...") never reaches
  freqtrade's main, and the bot would run on until that deadline: such a swallowed interrupt
  is sent again as a SIGTERM (`redeliver_swallowed_interrupts`). Seen once in a CI run: the
  parent was killed while the bot's model was being set up.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time

from self_learning_offline.children import set_parent_death_signal

EXIT_GRACE_S = 5.0
ORPHAN_DEADLINE_S = 120.0
POLL_S = 1.0
REDELIVER_AFTER_S = 0.2  # a swallowed stop is sent again this long after
STOP_SIGNAL = signal.SIGUSR2


def stop_once(parent_pid: int, deadline_s: float, poll_s: float = POLL_S) -> None:
    """The first STOP_SIGNAL (from the parent, or from the kernel when `parent_pid` dies)
    becomes one SIGTERM to this process, later ones are ignored; `os._exit(1)` `deadline_s`
    after the parent died."""
    stopped = threading.Event()

    def on_stop(signum: int, frame: object) -> None:
        if not stopped.is_set():
            stopped.set()
            signal.raise_signal(signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        time.sleep(deadline_s)
        os._exit(1)

    signal.signal(STOP_SIGNAL, on_stop)
    redeliver_swallowed_interrupts()
    if set_parent_death_signal(STOP_SIGNAL) and os.getppid() != parent_pid:
        signal.raise_signal(STOP_SIGNAL)  # the parent died before the signal was re-armed
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def redeliver_swallowed_interrupts() -> None:
    """Send SIGTERM again for every KeyboardInterrupt Python swallowed (`sys.unraisablehook`:
    raised in a callback whose exceptions are ignored). The interrupt was a stop request that
    never reached freqtrade (its SIGTERM handler raises KeyboardInterrupt), so nothing of the
    stop has begun and sending it again is not a second stop. Sent from a timer thread
    `REDELIVER_AFTER_S` later: the hook cannot raise, and a stop delivered while it runs
    would be swallowed again."""
    previous = sys.unraisablehook

    def hook(unraisable: sys.UnraisableHookArgs) -> None:
        previous(unraisable)
        if isinstance(unraisable.exc_value, KeyboardInterrupt):
            again = threading.Timer(REDELIVER_AFTER_S, os.kill, (os.getpid(), signal.SIGTERM))
            again.daemon = True
            again.start()

    sys.unraisablehook = hook


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    return code if isinstance(code, int) else 1


def finish(code: int, grace_s: float = EXIT_GRACE_S) -> None:
    """Give non-daemon threads `grace_s` to end, flush the logs, and exit with `code` even if
    one is still running (freqtrade's API server after an interrupted start-up)."""
    for signum in (signal.SIGTERM, signal.SIGINT, STOP_SIGNAL):
        signal.signal(signum, signal.SIG_IGN)  # stopping already
    deadline = time.monotonic() + grace_s
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join(max(0.0, deadline - time.monotonic()))
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def main() -> None:
    stop_once(os.getppid(), ORPHAN_DEADLINE_S)
    from freqtrade.main import main as freqtrade_main

    code = 1
    try:
        freqtrade_main(sys.argv[1:])
        code = 0
    except SystemExit as done:  # freqtrade's main always ends with sys.exit
        code = _exit_code(done.code)
    finally:
        finish(code)


if __name__ == "__main__":
    main()
