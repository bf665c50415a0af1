"""End to end: the shipped 1h setup (config.json) with the stock `freqtrade backtesting` on
candles that are not clean, as real pairs' are: ETH/USDT misses 12 hours (an exchange
outage; freqtrade fills them with flat zero-volume candles) and later has 12 flat zero-volume
hours (a halt), SOL/USDT is listed after the backtest's start.

It must finish without a traceback; the missing and flat hours get do_predict = 0 and are
counted as skipped no-trade candles in ETH's training line and as passed over in its
per-candle learning line; the first candle after each stretch is predicted, its return
spanning the stretch (market_features.py, like Monday's after a weekend); SOL is not trained
while its
history is too short, with a warning naming it and why, never a FreqAI "raised exception";
no served value is NaN or inf, no save is refused for one, and no trade opens on a candle
without a usable prediction. Generated 1h candles (three pairs, 30 days), two FreqAI windows
of five days, a small model (about a minute on two shared cores). The same cases on real
candles, compared with an undamaged run: benchmarks/odd_candles.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from backtest_support import (
    FAST_MODEL,
    BacktestRun,
    generated_hourly_candles,
    replay_serving,
    small_run,
)

from self_learning_offline.market import pair_filename

PAIRS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
DAMAGED, LISTED = "ETH/USDT", "SOL/USDT"
TIMERANGE = "20250104-20250114"
HOUR = pd.Timedelta(hours=1)
# In the first backtest window and the second training window (a counted skip there) ...
GAP = pd.date_range("2025-01-05 06:00", periods=12, freq="1h", tz="UTC")
# ... and in the second backtest window (per-candle learning only).
FLAT = pd.date_range("2025-01-11 06:00", periods=12, freq="1h", tz="UTC")
# After the first training window (empty for SOL) and 4 days before the second (too short).
LISTED_AT = pd.Timestamp("2025-01-05", tz="UTC")
SERVED = ("&-s_close", "&-liq_up", "&-liq_down", "&-novelty", "&-training_counter")
TIMEOUT_S = 300


def damage(datadir: Path) -> None:
    """ETH: GAP removed, FLAT flat at the last close with volume 0; SOL: from LISTED_AT."""
    path = datadir / pair_filename(DAMAGED, "1h")
    candles = pd.read_feather(path)
    candles = candles[~candles["date"].isin(GAP)].reset_index(drop=True)
    flat = candles["date"].isin(FLAT)
    last_close = candles.loc[candles["date"] < FLAT[0], "close"].iloc[-1]
    candles.loc[flat, ["open", "high", "low", "close"]] = last_close
    candles.loc[flat, "volume"] = 0.0
    candles.to_feather(path)
    path = datadir / pair_filename(LISTED, "1h")
    candles = pd.read_feather(path)
    candles[candles["date"] >= LISTED_AT].reset_index(drop=True).to_feather(path)


@pytest.fixture(scope="module")
def odd_market(tmp_path_factory):
    """(datadir, overlay): generated 1h candles, damaged, and a replay exchange serving them."""
    folder = tmp_path_factory.mktemp("odd")
    datadir = generated_hourly_candles(folder / "data", PAIRS)
    damage(datadir)
    with replay_serving(datadir, folder) as overlay:
        yield datadir, overlay


def predictions(models: Path, pair: str) -> pd.DataFrame:
    coin = pair.split("/")[0].lower()
    files = sorted((models / "backtesting_predictions").glob(f"cb_{coin}_*_prediction.feather"))
    frame = pd.concat([pd.read_feather(f) for f in files], ignore_index=True)
    frame["date"] = pd.to_datetime(frame["date"], utc=True)
    return frame


@pytest.mark.e2e
def test_gaps_flat_candles_and_a_new_listing(shipped_ft_config, odd_market, freqtrade_cli):
    datadir, overlay = odd_market
    ft_config = shipped_ft_config
    config = ft_config.data
    config.update(stake_currency="USDT", dry_run_wallet=1000, max_open_trades=len(PAIRS))
    small_run(config, PAIRS, "odd", model=FAST_MODEL, train_period_days=5,
              backtest_period_days=5)
    backtest = BacktestRun(ft_config, overlay, datadir, TIMERANGE)

    run = freqtrade_cli(backtest.backtesting(), timeout=TIMEOUT_S)

    assert run.returncode == 0, run.describe()
    assert "raised exception" not in run.log and "Traceback" not in run.log, run.describe()
    assert "NaN or inf" not in run.log, run.describe()  # no save refused for a non-finite state
    # SOL: the first training window holds none of its candles, the second four days.
    assert f"Not training {LISTED} this time: the training window holds 0 candles" in run.log
    assert f"Not training {LISTED} this time: only " in run.log, run.describe()
    # ETH: the 12 filled hours are counted in the training that covers them, and both
    # stretches where the per-candle learning passes over them.
    lines = run.log.splitlines()
    assert any(f"incremental update of {DAMAGED}" in line and "12 no-trade candles" in line
               for line in lines), run.describe()
    assert sum(f"candles for {DAMAGED}, counter" in line and "12 new candles passed over" in line
               for line in lines) == 2, run.describe()

    served = {pair: predictions(backtest.models, pair) for pair in PAIRS}
    for pair, frame in served.items():
        for column in (c for c in SERVED if c in frame):
            assert np.isfinite(frame[column].to_numpy(float)).all(), (pair, column)
    eth = served[DAMAGED].set_index("date")["do_predict"]
    assert (eth.reindex(GAP.append(FLAT)) == 0).all(), eth.reindex(GAP.append(FLAT))
    after = pd.DatetimeIndex([GAP[-1] + HOUR, FLAT[-1] + HOUR])
    assert (eth.reindex(after) == 1).all(), eth.reindex(after)
    assert (eth == 1).sum() > len(eth) // 2
    assert (served[LISTED]["do_predict"] == 0).all()

    trades = backtest.trades()
    assert len(trades) > 0, run.describe()
    assert LISTED not in set(trades["pair"])
    for pair, group in trades.groupby("pair"):
        usable = served[pair].set_index("date")["do_predict"]
        signal = pd.to_datetime(group["open_date"], utc=True) - HOUR
        assert (usable.reindex(signal).fillna(0) == 1).all(), group[["pair", "open_date"]]
