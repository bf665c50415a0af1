"""Why a backtest traded or not: how many predicted candles passed each entry filter of
SelfLearningStrategy in turn (self_learning.strategy.strategy_columns.entry_filters, the
strategy's own masks), over a finished backtest's stored predictions, and what the entry
signals realized against what they predicted (the strategy's entry record). Pure pandas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace

import numpy as np
import pandas as pd

from self_learning.strategy.entry_record import EntryRecordLine, matured_signals
from self_learning.strategy.strategy_columns import (
    EntryRules,
    calibration_candles,
    entry_filters,
    expected_return,
    round_trip,
)

# The strategy's buy parameters (freqtrade hyperopt's SelfLearningStrategy.json) -> EntryRules.
BUY_PARAMETERS = {"entry_threshold": "threshold", "entry_z": "z",
                  "novelty_max": "novelty_max", "min_score_ic": "min_score_ic",
                  "fee_margin": "fee_margin", "use_entry_z": "use_entry_z",
                  "use_score_ic": "use_score_ic", "use_expected_return": "use_expected_return"}
FIELD_TYPES = {f.name: type(f.default) for f in fields(EntryRules)}


def rules_from_hyperopt(params: dict) -> EntryRules:
    """EntryRules with the buy parameters of a hyperopt parameter file (its "params")."""
    buy = params.get("buy", {})
    return EntryRules(**{field: FIELD_TYPES[field](buy[name])
                         for name, field in BUY_PARAMETERS.items() if name in buy})


def with_fee_rule(rows: dict[str, pd.DataFrame], rules: EntryRules, horizon: int,
                  timeframe_s: int, fee: float | None) -> tuple[dict[str, pd.DataFrame],
                                                                EntryRules]:
    """The rows and rules the strategy's fee rules read: each pair's `expected_return` as the
    strategy computes it from the predictions and candles (the optional fee rule), and the
    round trip of `fee` (per side; None: FALLBACK_FEE; also the threshold's floor) in the
    rules."""
    candles = calibration_candles(timeframe_s)
    priced = {pair: frame.assign(expected_return=expected_return(frame, horizon, candles))
              for pair, frame in rows.items()}
    return priced, replace(rules, round_trip_fee=round_trip(fee))


def passing_in_turn(frame: pd.DataFrame, rules: EntryRules) -> dict[str, np.ndarray]:
    """filter -> rows of `frame` passing it and every filter before it (entry_filters, in the
    strategy's order); the last mask is the entry signals."""
    passing = np.ones(len(frame), dtype=bool)
    masks = {}
    for name, mask in entry_filters(frame.reset_index(drop=True), rules).items():
        passing = passing & mask.fillna(False).to_numpy(dtype=bool)
        masks[name] = passing
    return masks


def entry_funnel(rows: dict[str, pd.DataFrame], rules: EntryRules) -> list[tuple[str, int]]:
    """[("predicted candles", n), (filter, candles passing it and every filter before), ...]
    summed over pairs; the last count is the number of entry signals."""
    totals: dict[str, int] = {"predicted candles": 0}
    for frame in rows.values():
        totals["predicted candles"] += len(frame)
        for name, passing in passing_in_turn(frame, rules).items():
            totals[name] = totals.get(name, 0) + int(passing.sum())
    return list(totals.items())


def entry_outcome(rows: dict[str, pd.DataFrame], rules: EntryRules,
                  horizon: int) -> EntryRecordLine:
    """The entry signals of every pair (the funnel's last mask) whose H = `horizon` candles
    have passed within the rows, pooled: how many, their mean `&-s_close` and their mean
    realized target (the strategy's entry record over all of them)."""
    matured = [matured_signals(frame.reset_index(drop=True).assign(
        enter_long=list(passing_in_turn(frame, rules).values())[-1].astype(np.float64)),
        horizon) for frame in rows.values()]
    return EntryRecordLine.over(pd.concat(matured, ignore_index=True), signals=None)


def describe_outcome(outcome: EntryRecordLine, round_trip_fee: float) -> str:
    """What `make demo` prints of entry_outcome."""
    if outcome.matured == 0:
        return "  No entry signal has matured (its H candles passed) within the timerange."
    verdict = "above" if outcome.realized > round_trip_fee else "not above"
    return (f"  {outcome.matured} entry signals matured: predicted {100 * outcome.predicted:+.3f} "
            f"% on average, realized {100 * outcome.realized:+.3f} % over the next H candles, "
            f"{verdict} the round trip of fees ({100 * round_trip_fee:.3f} %)")


def describe_funnel(funnel: list[tuple[str, int]], trades: int, off: Sequence[str] = ()) -> str:
    """The funnel as lines, the optional filters that are `off` (strategy_columns.filters_off)
    with "off" for a count, then the trades freqtrade opened on the signals and, when there
    were none, the filter that stopped them."""
    rows = [*funnel, *((name, "off") for name in off)]
    width = max(len(name) for name, _ in rows)
    lines = [f"  {name:<{width}}  {count:>6}" for name, count in rows]
    signals = funnel[-1][1]
    lines.append(f"  -> {signals} entry signals, {trades} trades (freqtrade opens one trade per "
                 "pair at a time, up to max_open_trades)")
    if signals == 0:
        blocking = next((name for (name, count) in funnel[1:] if count == 0), funnel[-1][0])
        lines.append(f"  No trade: no candle passed '{blocking}' (README \"Trading rules\").")
    return "\n".join(lines)
