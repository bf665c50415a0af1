"""The stake of a trade by the model's conviction (SelfLearningStrategy.custom_stake_amount).

Pure arithmetic, no freqtrade: the strategy reads the signal candle's value (`expected_return`
or `&-s_close`, by its `size_by` parameter) and freqtrade's proposed, minimal and maximal stake,
and `sized_stake` gives the stake. Off by default (`size_by` "none": every trade gets the
proposed stake, an equal share of the wallet with `stake_amount` "unlimited").
"""

from __future__ import annotations

import math

SIZE_BY = ("none", "expected_return", "&-s_close")  # the strategy's `size_by` choices


def stake_multiple(signal: float, reference: float, low: float, high: float) -> float:
    """`signal` / `reference` clipped to [low, high]: 1 at the entry floor (`reference`, the
    least `&-s_close` an entry needs), 2 at twice it. 1 when the signal is not finite or the
    reference not positive (nothing to size by: the proposed stake)."""
    if not (math.isfinite(signal) and reference > 0):
        return 1.0
    return min(max(signal / reference, low), high)


def sized_stake(proposed: float, multiple: float, min_stake: float | None,
                max_stake: float) -> float:
    """The proposed stake times `multiple`, never above `max_stake` (freqtrade's: the balance
    available for trading, at most the market's limit) nor below `min_stake` (the exchange's
    least order; freqtrade would raise a smaller stake by at most 30 % or drop the trade)."""
    stake = proposed * multiple
    if min_stake is not None:
        stake = max(stake, min_stake)
    return min(stake, max_stake)
