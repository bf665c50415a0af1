"""The texts of the model's notifications, as pure functions (tested from tables).

They reach Telegram (Markdown), Discord and webhooks unchanged through freqtrade's
`dp.send_msg`, so they avoid Markdown's special characters (`_`, `*`, backticks, `[`) and
stay far below Telegram's 4096 characters (one line per pair, at most MAX_PAIR_LINES).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from self_learning.candles.predictions import Predictions
from self_learning.candles.timeline import iso_utc
from self_learning.telemetry.observer import PairStart

PREFIX = "SelfLearning"
MAX_PAIR_LINES = 40


@dataclass(frozen=True)
class ScoreLine:
    """The newest scoreboard of one pair (NaN where not known yet)."""

    pair: str
    ts: int
    ic: float
    hit_rate: float
    band_up: float
    band_down: float
    novelty: float
    training_counter: int
    drift_alarms: int = 0
    matured: int | None = None  # matured predictions the scores are over (None: not known)


def latest_scores(pair: str, p: Predictions, drift_alarms: int = 0) -> ScoreLine | None:
    """The last row of a stepped block as a ScoreLine (None for an empty block)."""
    if len(p.ts) == 0:
        return None
    last = lambda name: float(p.score(name)[-1])  # noqa: E731
    novelty = float(p.novelty[-1]) if bool(np.asarray(p.ok)[-1]) else math.nan
    matured = last("board_n")
    return ScoreLine(pair, int(p.ts[-1]), last("ic"), last("hit_rate"), last("band_up"),
                     last("band_down"), novelty, int(p.training_counter[-1]), drift_alarms,
                     int(matured) if math.isfinite(matured) else None)


def _num(value: float, digits: int = 3) -> str:
    return f"{value:.{digits}f}" if math.isfinite(value) else "n/a"


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= MAX_PAIR_LINES:
        return lines
    return [*lines[:MAX_PAIR_LINES], f"... and {len(lines) - MAX_PAIR_LINES} more pairs"]


def startup(starts: list[PairStart], mode: str) -> str:
    """One message for all pairs: which version each loaded (and its counter), or created."""
    lines = []
    for s in sorted(starts, key=lambda s: s.pair):
        if s.how == "loaded":
            lines.append(f"{s.pair}: loaded version {s.version}, training counter "
                         f"{s.training_counter}, last learned candle {iso_utc(s.last_learned_ts)}")
        elif s.how == "created":
            lines.append(f"{s.pair}: new models (none stored when it started)")
        else:
            lines.append(f"{s.pair}: REFUSED, no predictions (see the log)")
    head = f"{PREFIX} model started ({mode.replace('_', '-')}) for {len(starts)} pair(s):"
    return "\n".join([head, *_capped(lines)])


def _held(held_back: int) -> str:
    if held_back <= 0:
        return ""
    return f"; {held_back} more alarm{'s' * (held_back != 1)} since the last message, only logged"


def drift_alarm(pair: str, ts: int, alarms: int, line: ScoreLine | None,
                held_back: int = 0) -> str:
    """An alarm of the drift detector (`held_back`: the pair's alarms only logged since its
    last message)."""
    board = (f"; rolling IC {_num(line.ic)}, hit-rate {_num(line.hit_rate)}"
             if line is not None else "")
    return (f"{PREFIX}: drift alarm for {pair} at candle {iso_utc(ts)} (alarm {alarms} this "
            f"run{_held(held_back)}){board}. A drift response (its own message) follows only if "
            "the rolling IC is clearly below zero.")


def drift_alarm_held(text: str, last_notified_ts: int, cooldown_hours: float) -> str:
    """The log line of an alarm that is not notified: its message, and why not."""
    return (f"{text} Not notified: the last alarm message of this pair was at candle "
            f"{iso_utc(last_notified_ts)} (drift_notify_hours = {cooldown_hours:g}).")


def response_started(pair: str, ts: int, responses: int, challenge: bool,
                     held_back: int = 0) -> str:
    """A drift response began (`responses`: this run's, counting it)."""
    served = ("The model from before it is served until the response predicts better; a "
              "training settles which one stays." if challenge else
              "It is served at once.")
    return (f"{PREFIX}: drift response for {pair} by candle {iso_utc(ts)} (response "
            f"{responses} this run{_held(held_back)}): after a drift alarm its rolling IC fell "
            "clearly below zero, so it forgets most of its statistics and re-learns fast from "
            f"the recent candles. {served}")


def response_ended(pair: str, outcome: str, training_counter: int, held_back: int = 0) -> str:
    """A training settled a drift response's challenge: "kept" or "restored"."""
    what = ("kept, it predicted better than the model from before it" if outcome == "kept"
            else "undone, the model from before it predicted better and is served again")
    return (f"{PREFIX}: drift response for {pair} ended at a training (training counter "
            f"{training_counter}{_held(held_back)}): {what}.")


def _over(s: ScoreLine) -> str:
    return "" if s.matured is None else f"; scores over {s.matured} matured predictions"


def scoreboard(lines: list[ScoreLine], candles: int) -> str:
    """The periodic summary: per pair the rolling scores over its last matured predictions
    (at most `candles`; the count where known), novelty, training counter and drift alarms."""
    rows = [f"{s.pair}: IC {_num(s.ic)}, hit-rate {_num(s.hit_rate)}, in band up "
            f"{_num(s.band_up, 2)} / down {_num(s.band_down, 2)}, novelty {_num(s.novelty, 2)}, "
            f"training counter {s.training_counter}, drift alarms {s.drift_alarms}{_over(s)}; "
            f"as of candle {iso_utc(s.ts)}" for s in sorted(lines, key=lambda s: s.pair)]
    head = (f"{PREFIX} scoreboard per pair, rolling over its last matured predictions "
            f"(at most {candles}):")
    return "\n".join([head, *_capped(rows)])


def save_failed(pair: str, error: BaseException) -> str:
    # The error's text (paths with `_`, `[Errno ..]`) is in the log, not here: Markdown.
    return (f"{PREFIX}: saving the models of {pair} failed ({type(error).__name__}, details "
            "in the log). The last good version stays on disk; retrying at the next save "
            "interval.")


def save_recovered(pair: str, training_counter: int) -> str:
    return f"{PREFIX}: saving {pair} works again (training counter {training_counter} saved)."
