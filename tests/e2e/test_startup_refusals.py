"""End to end: the real freqtrade CLI refuses, or warns about, what the start-up checks flag.

* `freqtrade trade` with the shipped CHANGE-ME API secrets: refused in live trading and in a
  dry-run whose API listens on 0.0.0.0 (exit 2, the message names the keys, the API server
  never starts); a dry-run on 127.0.0.1 starts, logs one security warning and serves the API.
* `freqtrade lookahead-analysis` of more than one pair stops at start-up naming
  exchange.pair_whitelist and the `-p` that runs it per pair.
* `freqtrade backtesting` with a training window too short for window_candles +
  label_period_candles stops at start-up (exit 2) naming the keys, instead of "succeeding"
  with every window untrained.

Each refused run takes ~10 s (freqtrade's start-up), the warned dry-run ~20 s.
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from pathlib import Path

import pytest
from conftest import free_port
from live_support import LiveBot

START_TIMEOUT_S = 180
REFUSAL = re.compile(r"Refusing to start: api_server\.password is still the CHANGE-ME "
                     r"placeholder; api_server\.jwt_secret_key is still the CHANGE-ME "
                     r"placeholder; api_server\.ws_token is still the CHANGE-ME placeholder")
WARNING = "SECURITY WARNING - api_server.password is still the CHANGE-ME placeholder"
HTTP_STARTED = "Starting HTTP Server at"


@pytest.fixture
def trade_args(ft_config, replay_overlay, tmp_path):
    """`freqtrade trade` arguments for the shipped config with its API server on a free port;
    `args(address, live=False)` writes the config and returns the arguments."""

    def args(address: str, live: bool = False) -> tuple[list[str], int]:
        port = free_port()
        config = ft_config.data
        config["api_server"].update(enabled=True, listen_ip_address=address, listen_port=port)
        config["db_url"] = f"sqlite:///{tmp_path / 'trades.sqlite'}"
        files = ["-c", str(ft_config.write()), "-c", str(replay_overlay)]
        if live:
            live_file = tmp_path / "config.live.json"
            live_file.write_text(json.dumps({"dry_run": False}))
            files += ["-c", str(live_file)]
        else:
            files.append("--dry-run")
        return [*files, "--strategy", "SelfLearningStrategy",
                "--freqaimodel", "SelfLearningModel"], port

    return args


def _wait_exit(bot: LiveBot, timeout: float) -> int:
    try:
        return bot.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        bot.kill()
        bot.fail(f"still running {timeout:.0f} s after start (expected a refusal)")
        raise


@pytest.mark.e2e
@pytest.mark.parametrize("address,live", [("0.0.0.0", False), ("127.0.0.1", True)])
def test_trade_with_placeholder_secrets_is_refused(trade_args, tmp_path, address, live):
    """Live trading, or a dry-run whose API listens beyond loopback, with the shipped
    placeholders: freqtrade exits with 2 and names every placeholder key; no API server."""
    args, _ = trade_args(address, live)
    bot = LiveBot("refused", args, tmp_path)
    code = _wait_exit(bot, START_TIMEOUT_S)
    log = bot.log()
    assert code == 2, bot.describe()
    assert REFUSAL.search(log), bot.describe()
    assert ("this is live trading" if live else
            "api_server.listen_ip_address 0.0.0.0 is reachable beyond loopback") in log
    assert HTTP_STARTED not in log, bot.describe()
    assert "Traceback" not in log, bot.describe()


@pytest.mark.e2e
def test_loopback_dry_run_with_placeholder_secrets_starts_with_one_warning(trade_args,
                                                                           tmp_path):
    """A dry-run on 127.0.0.1 with the shipped config starts: the API answers, and the
    security warning is logged once although both the strategy and the model check."""
    args, port = trade_args("127.0.0.1")
    bot = LiveBot("warned", args, tmp_path)
    try:
        bot.wait_for("the model loaded", lambda log: "Downloading all training data" in log,
                     START_TIMEOUT_S)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/ping", timeout=5) as r:
            assert r.status == 200
        log = bot.log()
        assert log.count(WARNING) == 1, bot.describe()
        assert log.index(WARNING) < log.index(HTTP_STARTED)
        assert "Refusing to start" not in log
    finally:
        bot.kill()


@pytest.mark.e2e
def test_backtest_with_too_short_training_window_stops_at_start(ft_config, replay_overlay,
                                                                market_datadir, freqtrade_cli):
    """window_candles 300 in one 5m training day: the backtest stops before any training with
    exit 2 and an error naming the three keys and the candles needed vs available."""
    config = ft_config.data
    config["freqai"]["train_period_days"] = 1
    config["freqai"]["self_learning"]["window_candles"] = 300
    run = freqtrade_cli([
        "backtesting", "-c", str(ft_config.write()), "-c", str(replay_overlay),
        "--datadir", str(market_datadir), "--timerange", "20180117-20180118",
        "--strategy", "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel",
        "--cache", "none",
    ], timeout=START_TIMEOUT_S)
    assert run.returncode == 2, run.describe()
    assert "freqai.train_period_days (1) gives 288 candles of 300 s per training window, but " \
           "a first training needs at least 375" in run.log, run.describe()
    for key in ("freqai.self_learning.window_candles (300)",
                "freqai.feature_parameters.label_period_candles (12)"):
        assert key in run.log, run.describe()
    assert "Starting training" not in run.log
    assert not (Path(config["user_data_dir"]) / "backtest_results").exists() or not any(
        (Path(config["user_data_dir"]) / "backtest_results").glob("*.zip"))


@pytest.mark.e2e
def test_lookahead_analysis_of_several_pairs_stops_before_any_backtest(
        ft_config, replay_overlay, market_datadir, freqtrade_cli):
    """`freqtrade lookahead-analysis` of two pairs (the shipped config has two) re-runs each
    trade with its pair alone, while SelfLearningStrategy's market features and the model's
    pooled statistics read both: it would report look-ahead bias that is none. It stops at the
    full run's start (exit 2) naming exchange.pair_whitelist and the `-p` to add, before any
    training (tests/test_strategy_bias.py runs it on one pair)."""
    config = ft_config.data
    pairs = config["exchange"]["pair_whitelist"]
    assert len(pairs) == 2, pairs
    config["freqai"]["identifier"] = "lookahead-refused"
    run = freqtrade_cli([
        "lookahead-analysis", "-c", str(ft_config.write()), "-c", str(replay_overlay),
        "--datadir", str(market_datadir), "--timerange", "20180117-20180118",
        "--strategy", "SelfLearningStrategy", "--freqaimodel", "SelfLearningModel",
    ], timeout=START_TIMEOUT_S)
    assert run.returncode == 2, run.describe()
    assert (f"exchange.pair_whitelist has 2 ({', '.join(pairs)})" in run.log
            and f"add `-p {pairs[0]}`" in run.log), run.describe()
    assert "Starting training" not in run.log, run.describe()
    assert "Traceback" not in run.log, run.describe()
