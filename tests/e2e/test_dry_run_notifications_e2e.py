"""End to end: `scripts/dry_run.py` (what `make dry-run` runs) starts the realtime replay
exchange, `freqtrade trade --dry-run` and the API server on 127.0.0.1 with a generated
password, and the model's notifications reach freqtrade's own webhook notifier, pointed at an
HTTP listener of the test on 127.0.0.1. Ctrl-C (SIGINT to the script) stops all of it.

One pair of real candles (../shared/data) replayed on a 1m grid, one training day, three
epochs; the scoreboard summary interval is a few seconds so that one arrives in the test.
About a minute on two shared cores; every wait has a hard timeout.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ROOT, SHARED_DATA, free_ports, freqtrade_env
from live_support import listening, login, realtime_bot_config

TIMEOUT_S = 150
STOP_TIMEOUT_S = 150


class Webhook:
    """An HTTP listener on 127.0.0.1 that keeps the JSON bodies POSTed to it."""

    def __init__(self):
        self.bodies: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                owner.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [b.get("text", "") for b in self.bodies]


def wait(what: str, condition, proc: subprocess.Popen, output: Path, timeout: float,
         webhook: Webhook | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    state = "running" if proc.poll() is None else f"exited with {proc.returncode}"
    got = f"webhook got {webhook.bodies}\n" if webhook else ""
    pytest.fail(f"no {what} within {timeout:.0f} s (dry_run.py {state})\n{got}"
                f"{output.read_text()[-4000:]}", pytrace=False)


@pytest.mark.e2e
def test_dry_run_serves_the_ui_sends_notifications_and_stops_on_ctrl_c(tmp_path):
    if not (SHARED_DATA / "ETC_BTC-5m.feather").is_file():
        pytest.skip(f"real candles missing in {SHARED_DATA}")
    datadir = tmp_path / "data"
    datadir.mkdir()
    (datadir / "ETC_BTC-5m.feather").symlink_to(SHARED_DATA / "ETC_BTC-5m.feather")
    webhook = Webhook()
    extra = tmp_path / "test.json"
    settings = realtime_bot_config(
        tmp_path / "user_data", tmp_path / "trades.sqlite", f"dry-{uuid.uuid4().hex[:8]}",
        {"epochs": 3, "incremental_epochs": 1, "scoreboard_summary_hours": 0.001},
        live_retrain_hours=1, keep_api=True)  # the API server of dry_run.py's overlay
    settings["webhook"] = {
        "enabled": True, "url": webhook.url, "format": "json",
        "allow_custom_messages": True,  # freqtrade forwards dp.send_msg only then
        "strategy_msg": {"text": "{msg}"}}
    extra.write_text(json.dumps(settings))
    (tmp_path / "user_data").mkdir()
    port, api_port = free_ports(2)
    output = tmp_path / "dry_run.out"
    with output.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "dry_run.py"), "--port", str(port),
             "--api-port", str(api_port), "--datadir", str(datadir), "--history", "2600",
             "--logdir", str(tmp_path / "logs"), "--rundir", str(tmp_path / "run"),
             "-c", str(extra)],
            cwd=tmp_path, env=freqtrade_env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        # the whole word: the line may be read while the script writes it
        password = wait("password line", lambda: re.search(
            r"user freqtrader, password (\S+)  \(generated", output.read_text()),
            proc, output, 60)[1]
        assert output.read_text().count(password) == 1  # printed once
        wait("API server", lambda: listening(api_port), proc, output, 120)
        assert login(api_port, password) == 200
        assert login(api_port, password + "x") == 401

        def startup():
            return [t for t in webhook.texts() if t.startswith("SelfLearning model started")]

        def summary():
            return [t for t in webhook.texts() if t.startswith("SelfLearning scoreboard")]

        first = wait("start-up notification", startup, proc, output, TIMEOUT_S, webhook)
        assert first[0].splitlines() == ["SelfLearning model started (dry-run) for 1 pair(s):",
                                         "ETC/BTC: new models (none stored when it started)"]
        board = wait("scoreboard notification", summary, proc, output, TIMEOUT_S, webhook)
        assert re.search(r"^ETC/BTC: IC \S+, hit-rate \S+, in band up \S+ / down \S+, "
                         r"novelty \S+, training counter \d+, drift alarms \d+", board[0],
                         re.MULTILINE), board[0]
        assert len(startup()) == 1
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C sends to the foreground script
        code = proc.wait(timeout=STOP_TIMEOUT_S)
        webhook.server.shutdown()
    text = output.read_text()
    assert code == 0, text[-3000:]
    assert "Dry-run stopped." in text
    assert not listening(port) and not listening(api_port)
    log = (tmp_path / "logs" / "dry_run.log").read_text()
    assert "models saved:" in log, log[-3000:]
