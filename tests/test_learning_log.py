"""The per-candle learning line (runtime/learning_log.py): once per call that learned or passed
over candles, but a halt (one passed-over candle per call, live) only when it starts and when
learning resumes, that line counting every candle passed over in between."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from self_learning.candles.predictions import Predictions
from self_learning.runtime.learning_log import LearningLog

PAIR = "ETH/USDT"
LEARNED = replace(Predictions.empty(), learned=1)
HALT = replace(Predictions.empty(), passed_over=1, halted=True)
NOTHING_NEW = replace(Predictions.empty(), halted=True)  # a call without a new candle


@pytest.fixture
def lines(caplog):
    caplog.set_level(logging.INFO, logger="self_learning.runtime.learning_log")
    return lambda: [r.getMessage() for r in caplog.records]


def test_a_halt_is_logged_when_it_starts_and_when_learning_resumes_with_its_count(lines):
    log = LearningLog()
    log.stepped(PAIR, LEARNED, 100)
    for _ in range(30):
        log.stepped(PAIR, HALT, 100)
    log.stepped(PAIR, NOTHING_NEW, 100)
    log.stepped(PAIR, LEARNED, 101)
    log.stepped(PAIR, LEARNED, 102)
    assert lines() == [
        f"learned 1 candles for {PAIR}, counter 100",
        f"learned 0 candles for {PAIR}, counter 100; halt: its newest candle is not a market "
        "observation, new candles are passed over (nothing traded, broken or repeated: not "
        "predicted, not learned) until one is; their count follows when learning resumes",
        f"learned 1 candles for {PAIR}, counter 101; 30 new candles passed over (nothing "
        "traded, broken or repeated: not predicted, not learned)",
        f"learned 1 candles for {PAIR}, counter 102",
    ]


def test_a_block_with_candles_passed_over_inside_it_is_one_line(lines):
    """A backtest window: one call, the stretch inside it, the newest candle traded."""
    log = LearningLog()
    log.stepped(PAIR, replace(LEARNED, learned=150, passed_over=12), 160)
    log.stepped("BTC/USDT", HALT, 7)  # pairs are apart
    log.stepped(PAIR, replace(LEARNED, learned=0), 160)  # nothing to say
    assert lines()[0] == (f"learned 150 candles for {PAIR}, counter 160; 12 new candles passed "
                          "over (nothing traded, broken or repeated: not predicted, not learned)")
    assert len(lines()) == 2 and "halt" in lines()[1] and "BTC/USDT" in lines()[1]


def test_a_halt_that_ends_a_block_counts_the_next_blocks_candles_too(lines):
    log = LearningLog()
    log.stepped(PAIR, replace(LEARNED, learned=90, passed_over=5, halted=True), 90)
    log.stepped(PAIR, replace(LEARNED, learned=80, passed_over=7), 170)
    assert "learned 90 candles" in lines()[0] and "halt" in lines()[0]
    assert lines()[1].startswith(f"learned 80 candles for {PAIR}, counter 170; 12 new candles "
                                 "passed over")


def test_a_block_that_resumes_learning_and_ends_in_a_new_halt_says_so(lines):
    """Backtest windows of a thinly traded pair, each ending on a candle nothing traded: the
    middle window learned 98 candles (it was silent, and its candles passed over were
    counted with the next line's as one halt); each candle passed over is counted once."""
    log = LearningLog()
    log.stepped(PAIR, replace(LEARNED, learned=92, passed_over=70, halted=True), 93)
    log.stepped(PAIR, replace(LEARNED, learned=98, passed_over=66, halted=True), 191)
    log.stepped(PAIR, replace(LEARNED, learned=109, passed_over=69), 300)
    assert len(lines()) == 3
    assert lines()[1].startswith(f"learned 98 candles for {PAIR}, counter 191; 70 new candles "
                                 "passed over")
    assert "halt" in lines()[1]
    assert lines()[2].startswith(f"learned 109 candles for {PAIR}, counter 300; 135 new "
                                 "candles passed over")
