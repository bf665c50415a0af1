"""SelfLearningStrategy's default protection: freqtrade's MaxDrawdown on the account's equity,
in candles of the configured timeframe (strategy_columns.drawdown_protection; docs/hourly.md
"freqtrade's LowProfitPairs and MaxDrawdown as a collapse guard"). The lock itself is checked
with freqtrade's own ProtectionManager on closed trades in freqtrade's database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from freqtrade.configuration.load_config import load_from_files
from freqtrade.exchange import timeframe_to_next_date
from freqtrade.persistence import PairLocks, Trade, init_db
from freqtrade.plugins.protectionmanager import ProtectionManager
from strategy_support import load_strategy_module

ROOT = Path(__file__).resolve().parents[1]
HOURLY = [str(ROOT / "config.json")]
FIVE_MINUTE = [*HOURLY, str(ROOT / "config.5m.json")]
NOW = datetime(2025, 2, 10, 12, tzinfo=UTC)
BALANCE = 1000.0


def default_protections(files: list[str]) -> tuple[dict, list[dict]]:
    config = load_from_files(files)
    return config, load_strategy_module().SelfLearningStrategy(config).protections


@pytest.mark.parametrize(("files", "lookback", "lock"), [(HOURLY, 48, 12),
                                                         (FIVE_MINUTE, 144, 36)])
def test_the_default_is_max_drawdown_over_12_horizons_locking_for_3(files, lookback, lock):
    """12H and 3H candles of the setup's timeframe: two days and 12 hours at 1h (H = 4),
    12 and 3 hours at 5m (H = 12)."""
    _, protections = default_protections(files)
    assert protections == [{"method": "MaxDrawdown", "calculation_mode": "equity",
                            "lookback_period_candles": lookback, "trade_limit": 4,
                            "max_allowed_drawdown": 0.15, "stop_duration_candles": lock}]


def test_a_subclass_keeps_its_own_protections():
    module = load_strategy_module()

    class Mine(module.SelfLearningStrategy):
        protections = []  # noqa: RUF012 (freqtrade's attribute, as users write it)

    assert Mine(load_from_files(HOURLY)).protections == []


@pytest.fixture
def database():
    """freqtrade's database in memory, as a dry-run bot sets it up (its candles: 1h)."""
    init_db("sqlite://")
    PairLocks.use_db, PairLocks.timeframe = True, "1h"
    yield
    Trade.session.rollback()
    PairLocks.reset_locks()
    PairLocks.timeframe = ""


def close_trades(losses: list[float], hours_ago: list[int]) -> None:
    """Closed trades of a 1000 USDT wallet, each losing `losses[i]` USDT, closed
    `hours_ago[i]` hours before NOW."""
    for number, (loss, ago) in enumerate(zip(losses, hours_ago, strict=True)):
        closed = NOW - timedelta(hours=ago)
        Trade.session.add(Trade(
            pair=f"P{number}/USDT", stake_amount=500.0, amount=500.0, open_rate=1.0,
            close_rate=1.0 - loss / 500.0, fee_open=0.0, fee_close=0.0, is_open=False,
            open_date=closed - timedelta(hours=4), close_date=closed, exchange="binance",
            close_profit=-loss / 500.0, close_profit_abs=-loss, exit_reason="stop_loss"))
    Trade.commit()


def account_lock():
    """What the strategy's protections (1h setup) lock at NOW, through freqtrade's manager."""
    config, protections = default_protections(HOURLY)
    manager = ProtectionManager(config, protections)
    return manager.global_stop(NOW, "long", starting_balance=BALANCE)


@pytest.mark.usefixtures("database")
def test_every_pair_is_locked_for_12_candles_once_the_account_lost_more_than_15_percent():
    """Four losing trades within two days take 16 % of the wallet: every pair ("*") is locked
    until 12 hours after the newest close."""
    close_trades([40.0, 40.0, 40.0, 40.0], [30, 20, 10, 2])
    lock = account_lock()
    assert lock is not None and lock.pair == "*"
    assert lock.reason == "0.16 passed 0.15 in 48 candles, locking for 12 candles."
    newest_close = NOW - timedelta(hours=2)  # freqtrade ends a lock at a candle's open
    assert lock.lock_end_time.replace(tzinfo=UTC) == timeframe_to_next_date(
        "1h", newest_close + timedelta(hours=12))


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize(("losses", "hours_ago"), [
    ([35.0, 35.0, 35.0, 35.0], [30, 20, 10, 2]),  # 14 %: below the limit
    ([55.0, 55.0, 55.0], [20, 10, 2]),  # 16.5 % in three trades: fewer than four
    ([40.0, 40.0, 40.0, 40.0], [60, 50, 10, 2]),  # two of them before the two days
])
def test_no_lock_below_the_limit_with_fewer_trades_or_older_losses(losses, hours_ago):
    close_trades(losses, hours_ago)
    assert account_lock() is None
