"""`without_freqtrade_stop_race` (live_support.py) drops exactly freqtrade's own cleanup error
after a SIGTERM inside a database statement, and keeps every other error and traceback."""

from __future__ import annotations

from live_support import without_freqtrade_stop_race

SITE = "/venv/lib/python3.11/site-packages"
BEFORE = "2026-12-07 00:17:58,101 - freqtrade.worker - INFO - Bot heartbeat.\n"
AFTER = "2026-12-07 00:18:02,937 - freqtrade - INFO - SIGINT received, aborting ...\n"


def cleanup_error(frame: str = f"{SITE}/freqtrade/freqtradebot.py") -> str:
    """freqtrade's "Error during cleanup" record as CI logged it (shortened)."""
    return (
        "2026-12-07 00:18:02,930 - freqtrade.freqtradebot - ERROR - Error during cleanup\n"
        "Traceback (most recent call last):\n"
        f'  File "{SITE}/sqlalchemy/engine/default.py", line 1192, in do_execute\n'
        "    cursor.execute(statement, parameters)\n"
        f'  File "{SITE}/freqtrade/commands/trade_commands.py", line 18, in term_handler\n'
        "    raise KeyboardInterrupt()\n"
        "KeyboardInterrupt\n"
        "\n"
        "During handling of the above exception, another exception occurred:\n"
        "\n"
        "Traceback (most recent call last):\n"
        f'  File "{frame}", line 258, in cleanup\n'
        "    Trade.commit()\n"
        '  File "<sqlalchemy generated _go() wrapper for SessionTransaction.commit>", line 2\n'
        f'  File "{SITE}/sqlalchemy/engine/base.py", line 711, in _invalid_transaction\n'
        "    raise exc.PendingRollbackError(\n"
        "sqlalchemy.exc.PendingRollbackError: Can't reconnect until invalid transaction is "
        "rolled back.\n")


def test_freqtrades_cleanup_error_after_a_sigterm_in_a_statement_is_dropped():
    assert without_freqtrade_stop_race(BEFORE + cleanup_error() + AFTER) == BEFORE + AFTER


def test_a_frame_of_ours_keeps_it():
    ours = cleanup_error("/work/main/freqai_models/self_learning/runtime/lifecycle.py")
    assert without_freqtrade_stop_race(BEFORE + ours + AFTER) == BEFORE + ours + AFTER


def test_any_other_error_or_traceback_stays():
    other = cleanup_error().replace("PendingRollbackError", "OperationalError")
    no_sigterm = cleanup_error().replace("in term_handler", "in process")
    ours = ("2026-12-07 00:18:01,000 - self_learning.runtime.saves - ERROR - save failed\n"
            "Traceback (most recent call last):\n"
            "ValueError: x\n")
    for text in (other, no_sigterm, ours):
        assert without_freqtrade_stop_race(BEFORE + text + AFTER) == BEFORE + text + AFTER
