"""The per-candle learning line of each pair, said once per halt rather than once per candle.

`learned N candles for PAIR, counter M[; K new candles passed over (...)]` after every
prediction that learned or passed over candles (live: one per candle; backtests: one per
FreqAI window). During a halt (the newest candle is not a market observation: a trading halt,
an outage freqtrade filled, a closed market; live, one such candle per call) the line would
repeat each candle with nothing learned: instead the halt is said once when it starts, and the
line after it, when learning resumes, counts every candle passed over since it started. A call
that resumes learning and ends in a new halt (a backtest window of a thinly traded pair ending
on a candle nothing traded) says both: what it learned with the count of the halt before it,
and that a halt began.
"""

from __future__ import annotations

import logging

from self_learning.candles.predictions import Predictions

logger = logging.getLogger(__name__)

WHY = "nothing traded, broken or repeated: not predicted, not learned"


class LearningLog:
    """Logs what each call of the per-candle learning did (learner.observe's Predictions)."""

    def __init__(self) -> None:
        self._halts: dict[str, int] = {}  # pair -> candles passed over since its halt began

    def stepped(self, pair: str, p: Predictions, counter: int) -> None:
        """One call's `p` (learned, passed_over, halted), `counter` the pair's training
        counter after it."""
        halted_before = pair in self._halts
        carried = self._halts.pop(pair, 0)
        passed = carried + p.passed_over
        learned = f"learned {p.learned} candles for {pair}, counter {counter}"
        if p.halted:
            # A call that learned resumed the halt before it and ends in a new one (a backtest
            # window or a replay ending on a candle nothing traded): said, with the count of
            # the halt before it; this call's count follows with the next line.
            self._halts[pair] = p.passed_over if p.learned else passed
            if not halted_before or p.learned:
                before = f"; {carried} new candles passed over ({WHY})" if carried else ""
                logger.info(f"{learned}{before}; halt: its newest candle is not a market "
                            f"observation, new candles are passed over ({WHY}) until one is; "
                            "their count follows when learning resumes")
        elif p.learned or passed:
            more = f"; {passed} new candles passed over ({WHY})" if passed else ""
            logger.info(learned + more)
