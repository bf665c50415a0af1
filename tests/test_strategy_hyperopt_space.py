"""What `freqtrade hyperopt` searches on SelfLearningStrategy's buy space.

freqtrade's hyperoptable parameters are class attributes with fixed ranges; two of ours mean
nothing over part of theirs on a given run: an `entry_threshold` at or below the round trip of
fees is that round trip (EntryRules.floor), and a `top_k` of the whitelist's size or more
confirms every pair, like 0. The strategy narrows both in bot_start, once the whitelist and
fees are known, so every value hyperopt draws is a different rule (a user's `stoploss`:
test_strategy_user_stoploss).
"""

from __future__ import annotations

import pytest
from freqtrade.enums import HyperoptState, RunMode
from freqtrade.optimize.hyperopt_tools import HyperoptStateContainer
from strategy_support import load_strategy_module

from self_learning.strategy.hyperopt_space import threshold_range, top_k_range
from self_learning.strategy.strategy_columns import EntryRules, among_top

TAKER = {"A/USDT": 0.001, "B/USDT": 0.001, "C/USDT": 0.0015}  # per side


@pytest.fixture
def module(monkeypatch):
    """A fresh load per test: the parameters are class attributes (test_strategy_exits). With
    hyperopt starting up, so a parameter's `range` is its searched values."""
    monkeypatch.setattr(HyperoptStateContainer, "state", HyperoptState.STARTUP)
    return load_strategy_module()


class Provider:
    """What bot_start reads of freqtrade's data provider: the whitelist and each market's
    taker fee."""

    def __init__(self, pairs: list[str]):
        self.pairs = pairs

    def current_whitelist(self):
        return list(self.pairs)

    def market(self, pair):
        return {"taker": TAKER[pair]}


def started(module, pairs: list[str], saved: dict | None = None):
    """The strategy as `freqtrade hyperopt --spaces buy sell` starts it: data provider, then
    ft_bot_start (bot_start, then the parameters' values, from `saved` if given)."""
    config = {"timeframe": "1h", "runmode": RunMode.HYPEROPT, "spaces": ["buy", "sell"]}
    strategy = module.SelfLearningStrategy(config)
    strategy.dp = Provider(pairs)
    if saved:
        strategy._ft_params_from_file = saved
    strategy.ft_bot_start()
    return strategy


def searched(strategy, name: str) -> list:
    """The values hyperopt draws from for `name` (its range while it is in the search)."""
    parameter = dict(strategy.enumerate_parameters("buy"))[name]
    return list(parameter.range) if parameter.in_space and parameter.optimize else []


def test_every_searched_entry_threshold_is_a_different_entry_floor(module):
    """From the whitelist's cheapest round trip (0.002) to 0.01: no draw at or below the
    round trip, which all enter alike; the default is among them."""
    strategy = started(module, ["A/USDT", "B/USDT", "C/USDT"])
    values = searched(strategy, "entry_threshold")
    floors = [EntryRules(threshold=v, round_trip_fee=0.002).floor for v in values]
    assert len(set(floors)) == len(floors)
    assert min(values) == pytest.approx(0.002)
    assert max(values) == pytest.approx(0.01)
    assert strategy.entry_threshold.value == pytest.approx(0.003)


def test_every_searched_top_k_confirms_a_different_set_of_pairs(module):
    """Three pairs: 0 (all), 1 and 2; 3 or more would confirm all three again."""
    pairs = ["A/USDT", "B/USDT", "C/USDT"]
    strategy = started(module, pairs)
    returns = {"A/USDT": 0.004, "B/USDT": 0.003, "C/USDT": 0.006}
    confirmed = [frozenset(p for p in pairs if among_top(returns, p, k))
                 for k in searched(strategy, "top_k")]
    assert len(set(confirmed)) == len(confirmed) == 3
    assert strategy.top_k.value == 0


def test_top_k_is_not_searched_on_a_single_pair(module):
    assert searched(started(module, ["A/USDT"]), "top_k") == []


def test_saved_values_outside_the_narrowed_ranges_load_and_trade_as_before(module):
    """A parameter file from before (entry_threshold 0.001, top_k 5) still loads as is."""
    saved = {"buy": {"entry_threshold": 0.001, "top_k": 5}}
    strategy = started(module, ["A/USDT", "B/USDT"], saved)
    assert strategy.entry_threshold.value == pytest.approx(0.001)
    assert strategy.top_k.value == 5
    assert strategy.entry_rules("A/USDT").floor == pytest.approx(0.002)



@pytest.mark.parametrize(("round_trips", "expected"), [
    ([0.002, 0.003], (0.002, 0.01)),   # the cheapest pair's round trip
    ([0.0015], (0.0015, 0.01)),        # 0.075 % per side
    ([0.00052], (0.0006, 0.01)),       # rounded up to the parameter's 4 decimals
    ([70 * 0.00001], (0.0007, 0.01)),  # 0.0007000000000000001: float noise, not 0.0008
    ([0.012], (0.01, 0.01)),           # fees above the range: its top only
    ([], (0.0, 0.01)),                 # no pairs: the class range
])
def test_threshold_range_starts_at_the_cheapest_round_trip(round_trips, expected):
    assert threshold_range(round_trips) == pytest.approx(expected)


@pytest.mark.parametrize(("pairs", "expected"), [(0, (0, 0)), (1, (0, 0)), (2, (0, 1)),
                                                 (5, (0, 4)), (40, (0, 10))])
def test_top_k_range_stops_below_the_whitelist_size(pairs, expected):
    assert top_k_range(pairs) == expected
