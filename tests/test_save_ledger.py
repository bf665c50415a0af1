"""SaveLedger (runtime/save_ledger.py): which changes of each pair were handed to the saver
and which landed; PoolsByFeatures (returns/pool.py): which pairs share one StatsPool."""

from self_learning.returns.pool import PoolsByFeatures
from self_learning.runtime.save_ledger import SaveLedger


def test_a_started_pair_is_saved_until_it_changes():
    """A restored or new learner counts as saved; a change makes it due and unsaved."""
    ledger = SaveLedger()
    ledger.start("A", 5)
    assert ledger.since_handed_over("A", 5) == 0
    assert ledger.not_handed_over({"A": 5}) == [] and ledger.unsaved({"A": 5}) == []
    assert ledger.since_handed_over("A", 8) == 3
    assert ledger.not_handed_over({"A": 8}) == ["A"] and ledger.unsaved({"A": 8}) == ["A"]


def test_handed_over_is_not_landed():
    """A save in flight is no longer to be queued, but stays unsaved until it lands."""
    ledger = SaveLedger()
    ledger.start("A", 0)
    ledger.handed_over("A", 4)
    assert ledger.since_handed_over("A", 6) == 2
    assert ledger.not_handed_over({"A": 4}) == [] and ledger.unsaved({"A": 4}) == ["A"]
    ledger.landed("A", 4)
    assert ledger.unsaved({"A": 4}) == []


def test_an_older_save_landing_late_does_not_undo_a_newer_one():
    ledger = SaveLedger()
    ledger.start("A", 0)
    ledger.landed("A", 9)
    ledger.landed("A", 4)
    assert ledger.unsaved({"A": 9}) == []


def test_pairs_keep_the_order_they_are_given_and_unknown_pairs_are_unsaved():
    ledger = SaveLedger()
    for pair in ("B", "A", "C"):
        ledger.start(pair, 1)
    changes = {"C": 2, "A": 1, "B": 3, "D": 0}
    assert ledger.not_handed_over(changes) == ["C", "B", "D"]
    assert ledger.unsaved(changes) == ["C", "B", "D"]


def test_pairs_with_the_same_features_up_to_their_name_share_one_pool():
    pools = PoolsByFeatures(half_life_s=600.0, keep_history=True)
    btc = pools.for_pair("BTC/USDT", ["%-rsi_BTC/USDT_5m", "%-vol_BTC/USDT_5m"])
    eth = pools.for_pair("ETH/USDT", ["%-rsi_ETH/USDT_5m", "%-vol_ETH/USDT_5m"])
    other = pools.for_pair("SOL/USDT", ["%-rsi_SOL/USDT_5m"])
    assert btc is eth and other is not btc
    assert (btc.n_features, btc.half_life_s, btc.keep_history) == (2, 600.0, True)
    assert other.n_features == 1
    assert pools.for_pair("BTC/USDT", ["%-rsi_BTC/USDT_5m", "%-vol_BTC/USDT_5m"]) is btc
