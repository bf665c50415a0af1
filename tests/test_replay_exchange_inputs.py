"""Replay exchange inputs it cannot serve: a candle file missing a column is an error naming
the file and the column (no KeyError traceback), NaN/infinite candles are skipped and counted
(never served as "nan"), and a port held by another process is refused naming that process
(PID and command line) on every start path: process.py (dry-run, tests, benchmarks), the
in-process server (the demo) and the CLI (the README's manual start)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from self_learning_offline.market import generate_candles
from self_learning_offline.replay_exchange import BackgroundServer, build_exchange
from self_learning_offline.replay_exchange.candles import RecordingError, load_recordings
from self_learning_offline.replay_exchange.ports import PortInUseError, port_holder
from self_learning_offline.replay_exchange.process import start_replay_exchange

CANDLES = 400


def write_pair(folder: Path, pair: str = "BTC/USDT", edit=None) -> Path:
    frame = generate_candles(pair, "5m", datetime(2025, 1, 1, tzinfo=UTC), CANDLES, seed=3)
    if edit is not None:
        frame = edit(frame)
    path = folder / f"{pair.replace('/', '_')}-5m.feather"
    frame.reset_index(drop=True).to_feather(path)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "self_learning_offline.replay_exchange", *args],
                          capture_output=True, text=True, timeout=60)


# -- bad files ------------------------------------------------------------------------------


def test_missing_column_names_the_file_and_the_column(tmp_path):
    """issue 20: a file without 'volume' died with a raw KeyError: 'volume'."""
    write_pair(tmp_path, "ETH/USDT")
    bad = write_pair(tmp_path, edit=lambda f: f.drop(columns=["volume"]))
    with pytest.raises(RecordingError, match=rf"^{bad} has no 'volume' column \(it has 'date', "
                                             r"'open', 'high', 'low', 'close'\)"):
        load_recordings(tmp_path)
    result = run_cli("--datadir", str(tmp_path), "--port", "0")
    assert result.returncode == 2
    assert f"argument --datadir: {bad} has no 'volume' column" in result.stderr
    assert "Traceback" not in result.stderr and "KeyError" not in result.stderr


def test_unreadable_file_names_the_file(tmp_path):
    bad = tmp_path / "BTC_USDT-5m.feather"
    bad.write_text("not arrow")
    with pytest.raises(RecordingError, match=rf"^{bad} is not a readable feather file"):
        load_recordings(tmp_path)


def test_nan_candles_are_skipped_counted_and_never_served(tmp_path, caplog):
    """issue 20: NaN prices were served as "nan"; now the candle is skipped, and the count of
    skipped candles is logged once per file."""
    def spoil(frame):
        frame.loc[[10, 11, 12], "close"] = np.nan
        frame.loc[50, "high"] = np.inf
        frame.loc[60, "volume"] = np.nan
        return frame

    path = write_pair(tmp_path, edit=spoil)
    exchange = build_exchange(tmp_path)
    assert len(exchange.markets["BTCUSDT"].finest) == CANDLES - 5
    assert f"{path}: skipped 5 candle(s) with a missing, NaN or infinite date, price or " \
           f"volume; serving the other {CANDLES - 5}." in caplog.text
    with BackgroundServer(exchange, port=0) as server:
        with urllib.request.urlopen(f"{server.url}/api/v3/klines?symbol=BTCUSDT&interval=5m"
                                    "&startTime=0&limit=1000", timeout=10) as response:
            body = response.read().decode()
    rows = json.loads(body)
    assert len(rows) == CANDLES - 5
    assert "nan" not in body.lower() and "inf" not in body.lower()


# -- ports ----------------------------------------------------------------------------------


@pytest.fixture
def held_port():
    """A port on 127.0.0.1 held by another process (a `python -c` listener); yields
    (port, pid)."""
    code = ("import socket, sys, time; s = socket.socket(); s.bind(('127.0.0.1', 0)); "
            "s.listen(); print(s.getsockname()[1], flush=True); time.sleep(120)")
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        yield int(holder.stdout.readline()), holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_port_holder_names_pid_and_command(held_port):
    port, pid = held_port
    assert port_holder(port).startswith(f"PID {pid} ({sys.executable} -c import socket")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        assert port_holder(free.getsockname()[1]) == "another process"  # bound, not listening


def test_start_replay_exchange_refuses_a_held_port(held_port, tmp_path):
    """issue 21: a replay exchange left running made the dry-run's bot silently use it."""
    port, pid = held_port
    write_pair(tmp_path)
    log = tmp_path / "exchange.log"
    with pytest.raises(PortInUseError, match=rf"^Cannot start the replay exchange: port {port} "
                                             rf"on 127\.0\.0\.1 is already in use by PID {pid} "):
        start_replay_exchange(tmp_path, port, log)
    assert not log.exists()  # refused before anything was started


def test_in_process_server_and_cli_name_the_holder(held_port, tmp_path):
    """issue 21: `make demo` (in-process server) died with a raw `Address already in use`."""
    port, pid = held_port
    write_pair(tmp_path)
    with pytest.raises(PortInUseError, match=rf"port {port} .* in use by PID {pid} "):
        BackgroundServer(build_exchange(tmp_path), port=port)
    result = run_cli("--datadir", str(tmp_path), "--port", str(port))
    assert result.returncode == 2
    assert f"argument --port: Cannot start the replay exchange: port {port} on 127.0.0.1 is " \
           f"already in use by PID {pid} (" in result.stderr
    assert "Traceback" not in result.stderr
