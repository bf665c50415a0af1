"""Why a backtest traded or not: how many predicted candles passed each entry filter of
SelfLearningStrategy in turn (self_learning.strategy.strategy_columns.entry_filters, the
strategy's own masks), over a finished backtest's stored predictions. Pure pandas."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import fields, replace

import numpy as np
import pandas as pd

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


def entry_funnel(rows: dict[str, pd.DataFrame], rules: EntryRules) -> list[tuple[str, int]]:
    """[("predicted candles", n), (filter, candles passing it and every filter before), ...]
    summed over pairs; the last count is the number of entry signals."""
    totals: dict[str, int] = {"predicted candles": 0}
    for frame in rows.values():
        frame = frame.reset_index(drop=True)
        totals["predicted candles"] += len(frame)
        passing = np.ones(len(frame), dtype=bool)
        for name, mask in entry_filters(frame, rules).items():
            passing &= mask.fillna(False).to_numpy(dtype=bool)
            totals[name] = totals.get(name, 0) + int(passing.sum())
    return list(totals.items())


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
