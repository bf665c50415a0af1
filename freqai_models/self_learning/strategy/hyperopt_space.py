"""The searched ranges of SelfLearningStrategy's parameters that depend on the run.

freqtrade declares hyperoptable parameters as class attributes, their ranges fixed before the
whitelist or the fees are known. Over part of their class range two of ours are one rule:

* an `entry_threshold` at or below the round trip of fees is that round trip
  (EntryRules.floor): 0 to 0.002 on Binance spot, a fifth of 0 to 0.01, all enter alike;
* a `top_k` of the whitelist's size or more confirms every pair with a known expected return,
  as 0 does: 2 to 10 with config.json's two pairs.

The strategy narrows both in bot_start (freqtrade calls it once the data provider is set and
before it loads the parameters' values) to the ranges below, where every value is a different
rule. A saved value outside them (an older parameter file) still loads and trades as before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

# The class ranges (SelfLearningStrategy's declarations, before bot_start narrows them).
ENTRY_THRESHOLD_RANGE = (0.0, 0.01)
THRESHOLD_DECIMALS = 4
TOP_K_RANGE = (0, 10)


def threshold_range(round_trips: Iterable[float],
                    decimals: int = THRESHOLD_DECIMALS) -> tuple[float, float]:
    """`entry_threshold`'s searched range: from the smallest round trip of fees of the
    whitelist's pairs, rounded up to `decimals` (every lower value enters as that round trip
    does), to the class range's top; the class range without pairs. A pair whose round trip
    is larger still treats the values below its own as one."""
    low, high = ENTRY_THRESHOLD_RANGE
    fees = list(round_trips)
    if fees:
        scale = 10 ** decimals
        low = max(low, math.ceil(round(min(fees) * scale, 6)) / scale)
    return min(low, high), high


def top_k_range(pairs: int) -> tuple[int, int]:
    """`top_k`'s searched range for a whitelist of `pairs` pairs: 0 (every pair) to one less
    than that (a larger k confirms every pair again), within the class range."""
    low, high = TOP_K_RANGE
    return low, max(low, min(high, pairs - 1))
