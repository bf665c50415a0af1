"""`scripts/dry_run.py` (what `make dry-run` runs) leaves nothing running and no secret behind.

Issue 20: after SIGKILL or SIGHUP of the script the bot and the replay exchange kept running
under PID 1 with `api.json` (password and secrets) on disk; a bot stopped during its start-up
never exited; the bot's FreqAI download wrote into the demo's data. Issue 21: a port held by
a replay exchange left running made the bot use that exchange; Ctrl-C of `make dry-run` ended
with `make: *** Error 130`.

Each test runs the real script (real replay exchange, real freqtrade) on generated candles;
the ones that wait for the bot's API are e2e (about 20 s each on two shared cores).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import pty
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from conftest import ROOT, free_port, free_ports, freqtrade_env
from freqtrade.configuration.environment_vars import _get_var_typed
from live_support import listening, login
from lock_holder import lock_held_elsewhere

from self_learning.runtime.run_stores import live_store
from self_learning_offline.bound_freqtrade import STOP_SIGNAL
from self_learning_offline.dry_run_state import DryRunState, ReplayClock, recording_fingerprint
from self_learning_offline.market import generate_candles
from self_learning_offline.replay_exchange.server import now_ms

SCRIPT = ROOT / "scripts" / "dry_run.py"
GONE_S = 10.0  # the bot's exit grace (5 s) plus the exchange's stop
# An orphaned bot stops gracefully (its save) and ends long before its 120 s deadline:
# seconds here, one pair and two epochs.
BOT_GONE_S = 60.0
STOP_TIMEOUT_S = 150  # scripts/dry_run.py's STOP_TIMEOUT_S (120) and some
STARTED = re.compile(r"Replay exchange PID (\d+), bot PID (\d+): starting")
SECRET_VARS = ("FREQTRADE__API_SERVER__PASSWORD", "FREQTRADE__API_SERVER__JWT_SECRET_KEY",
               "FREQTRADE__API_SERVER__WS_TOKEN")


@pytest.fixture(scope="module")
def datadir(tmp_path_factory) -> Path:
    """The exchange's candles: 20 days of generated 5m candles for config.json's two pairs."""
    folder = tmp_path_factory.mktemp("exchange_data")
    for pair in ("BTC/USDT", "ETH/USDT"):
        frame = generate_candles(pair, "5m", datetime(2025, 1, 1, tzinfo=UTC), 5760, seed=5)
        frame.to_feather(folder / f"{pair.replace('/', '_')}-5m.feather")
    return folder


@pytest.fixture
def dry_runs():
    """Every DryRun a test makes, killed with its children at teardown if still running."""
    made: list[DryRun] = []
    yield made
    for run in made:
        run.kill_leftovers()


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


class DryRun:
    """scripts/dry_run.py in a subprocess, its output in a file."""

    def __init__(self, tmp: Path, datadir: Path, port: int | None = None,
                 api_port: int | None = None, history: int = 4000) -> None:
        self.tmp, self.rundir, self.logdir = tmp, tmp / "run", tmp / "logs"
        self.datadir = datadir
        spare = free_ports(2)  # two distinct ports (a given one is held by its test)
        self.port, self.api_port = port or spare[0], api_port or spare[1]
        (tmp / "user_data").mkdir(exist_ok=True)
        self.extra = tmp / "test.json"
        self.extra.write_text(json.dumps({  # one pair, short trainings: a quick stop
            "user_data_dir": str(tmp / "user_data"),
            "db_url": f"sqlite:///{tmp / 'trades.sqlite'}",
            "exchange": {"pair_whitelist": ["BTC/USDT"]},
            "freqai": {"self_learning": {"epochs": 2, "incremental_epochs": 1}}}))
        self.output = tmp / "dry_run.out"
        self.args = [str(SCRIPT), "--port", str(self.port), "--api-port", str(self.api_port),
                     "--datadir", str(datadir), "--rundir", str(self.rundir), "--logdir",
                     str(self.logdir), "--history", str(history), "-c", str(self.extra)]
        self.proc: subprocess.Popen | None = None
        self.children: list[int] = []

    def start(self, background: bool = False) -> DryRun:
        """`background`: SIGINT ignored, as a shell starts a background job (`... &`)."""
        def as_background_job() -> None:
            signal.signal(signal.SIGINT, signal.SIG_IGN)

        with self.output.open("w") as out:
            self.proc = subprocess.Popen([sys.executable, *self.args], cwd=self.tmp,
                                         env=freqtrade_env(), stdout=out,
                                         stderr=subprocess.STDOUT,
                                         preexec_fn=as_background_job if background else None)
        return self

    def started(self, text: str | None = None) -> tuple[int, int]:
        """The (exchange, bot) PIDs the script printed; remembered for the clean-up."""
        found = STARTED.search(self.text() if text is None else text)
        if found is None:
            found = self.wait_for(STARTED, 60)
        self.children = [int(found[1]), int(found[2])]
        return self.children[0], self.children[1]

    def kill_leftovers(self) -> None:
        """After a failed test: nothing of it keeps running."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in self.children:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)

    def text(self) -> str:
        return self.output.read_text()

    def wait_for(self, pattern: str | re.Pattern, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.text())
            if found:
                return found
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"no {pattern!r} within {timeout:.0f} s:\n{self.text()[-4000:]}",
                    pytrace=False)


def alive(pid: int) -> bool:
    """A thread of `pid` still runs (a zombie waiting for its reaper counts as gone)."""
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    for task in tasks:
        try:
            if (task / "stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X"):
                return True
        except OSError:
            continue
    return False


def wait_gone(pids: list[int], timeout: float = GONE_S) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    return [pid for pid in pids if alive(pid)]


def environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


def files_holding(folder: Path, values: list[str], skip: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file() and path != skip
            and any(value.encode() in path.read_bytes() for value in values)]


# The scenarios of test_children_and_secrets_end_with_the_script: (signal, started as a
# background job). Each script and bot waits mostly on the others' start-up: they run side by
# side, each stopped as soon as its own bot's API answers.
STOP_SCENARIOS = {"SIGKILL": (signal.SIGKILL, False), "SIGHUP": (signal.SIGHUP, False),
                  "SIGINT-background-job": (signal.SIGINT, True)}


def started_scenario(tmp: Path, datadir: Path, dry_runs: list, background: bool,
                     ports: list[int]) -> tuple[DryRun, Path]:
    """The script started in `tmp` (exchange and API on `ports`) over an earlier run's stale
    candles; from the main thread (Popen's preexec_fn is not safe once other threads run)."""
    stale = tmp / "run" / "data" / "BTC_USDT-5m.feather"
    stale.parent.mkdir(parents=True)
    stale.write_text("an earlier run's candles")
    run = DryRun(tmp, datadir, *ports).start(background)
    dry_runs.append(run)
    return run, stale


def stopped_scenario(run: DryRun, stale: Path, datadir: Path, before: dict,
                     sig: signal.Signals) -> None:
    """The checks of one scenario, from its bot's API answering to its stop."""
    tmp_path = run.tmp
    exchange, bot = run.started()
    password = run.wait_for(r"user freqtrader, password (\S+)  \(generated", 120)[1]
    assert listening(run.api_port) and login(run.api_port, password) == 200
    secrets = [environment(bot)[name] for name in SECRET_VARS]
    assert secrets[0] == password
    command = Path(f"/proc/{bot}/cmdline").read_bytes().split(b"\0")
    assert command[command.index(b"--datadir") + 1] == str(run.rundir / "data").encode()
    assert not stale.exists()
    assert files_holding(tmp_path, secrets, skip=run.output) == []

    run.proc.send_signal(sig)
    # A stop waits for the bot's current computation (a training, the step's compile): up to
    # the script's STOP_TIMEOUT_S, usually seconds.
    code = run.proc.wait(timeout=STOP_TIMEOUT_S)
    assert wait_gone([exchange]) == [], run.text()[-3000:]
    assert wait_gone([bot], BOT_GONE_S) == [], run.text()[-3000:]
    assert not listening(run.port) and not listening(run.api_port)
    assert files_holding(tmp_path, secrets, skip=run.output) == []
    assert snapshot(datadir) == before  # the demo's data untouched
    if sig != signal.SIGKILL:  # a closed terminal, a Ctrl-C: a clean stop
        assert code == 0 and run.text().rstrip().endswith("Dry-run stopped."), run.text()[-3000:]
        assert run.text().count(password) == 1
    else:
        assert code == -signal.SIGKILL


@pytest.mark.e2e
def test_children_and_secrets_end_with_the_script(tmp_path, datadir, dry_runs):
    """Once the bot's API answers (its start-up under way), SIGKILL or SIGHUP of the script,
    or SIGINT of a script started as a background job (which inherits SIGINT ignored): the
    bot and the exchange are gone within seconds, the ports are free, and the secrets (only
    ever in the bot's environment) are in no file. The bot keeps its candles in the dry-run's
    own folder, never the exchange's. The three scenarios (STOP_SCENARIOS) run side by side,
    each in a folder of its own; the first that fails is reported, naming its scenario."""
    before = snapshot(datadir)
    ports = iter(free_ports(2 * len(STOP_SCENARIOS)))
    started = {name: started_scenario(tmp_path / name, datadir, dry_runs, background,
                                      [next(ports), next(ports)])
               for name, (_, background) in STOP_SCENARIOS.items()}
    with ThreadPoolExecutor(max_workers=len(started)) as pool:
        checks = {name: pool.submit(stopped_scenario, run, stale, datadir, before,
                                    STOP_SCENARIOS[name][0])
                  for name, (run, stale) in started.items()}
    for name, check in checks.items():
        error = check.exception()
        if error is not None:
            raise AssertionError(f"scenario {name}: {error}") from error


def make_status(pid: int, timeout: float = GONE_S) -> int:
    """make's wait status; killed after `timeout` (a failed test must not leave it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)
    return os.waitpid(pid, 0)[1]


def test_ctrl_c_of_make_dry_run_exits_0(tmp_path, datadir, dry_runs):
    """Ctrl-C in the terminal of `make dry-run` (a pty; make runs the script as its recipe):
    the script stops the bot and the exchange, and make exits 0 without `Error 130`."""
    run = DryRun(tmp_path, datadir)
    dry_runs.append(run)
    makefile = tmp_path / "Makefile"
    makefile.write_text("dry-run:\n\t" + " ".join([sys.executable, *run.args]) + "\n")
    pid, terminal = pty.fork()
    if pid == 0:  # the child: make in the pty's session, as a shell would start it
        os.chdir(tmp_path)
        os.execvpe("make", ["make", "-s", "-f", str(makefile), "dry-run"], freqtrade_env())
    output = b""
    deadline = time.monotonic() + 60
    try:
        while not STARTED.search(output.decode(errors="replace")):
            assert time.monotonic() < deadline, output.decode(errors="replace")[-3000:]
            output += os.read(terminal, 65536)
        exchange, bot = run.started(output.decode(errors="replace"))
        os.write(terminal, b"\x03")  # Ctrl-C: the terminal signals its foreground group
        while True:
            try:
                chunk = os.read(terminal, 65536)
            except OSError:  # EIO: the pty's last user is gone
                break
            if not chunk:
                break
            output += chunk
    finally:
        status = make_status(pid)
    text = output.decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-3000:]
    assert "SIGINT received." in text and text.rstrip().endswith("Dry-run stopped."), text
    assert "Error 130" not in text and "Interrupt" not in text
    assert wait_gone([exchange, bot]) == []


def test_a_held_port_is_named_and_nothing_starts(tmp_path, datadir, dry_runs):
    """issue 21: a port held by another process (here: this test) stops the script at once
    with one line naming the holder, for the exchange's port and the API's port alike."""
    for which in ("port", "api_port"):
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            port = holder.getsockname()[1]
            run = DryRun(tmp_path, datadir, **{which: port}).start()
            dry_runs.append(run)
            assert run.proc.wait(timeout=60) == 1, run.text()
        what = "the replay exchange" if which == "port" else "the bot's API server (FreqUI)"
        assert run.text().startswith(
            f"Cannot start {what}: port {port} on 127.0.0.1 is already in use by PID "
            f"{os.getpid()} ("), run.text()
        assert "Traceback" not in run.text() and "bot PID" not in run.text()


def test_generated_secrets_survive_freqtrades_environment_parser():
    """The secrets reach the bot as FREQTRADE__API_SERVER__* variables; freqtrade would turn
    a value made of digits into a number."""
    sys.path.insert(0, str(ROOT / "scripts"))
    from dry_run import api_secrets

    for _ in range(200):
        for value in api_secrets().values():
            assert _get_var_typed(value) == value and isinstance(_get_var_typed(value), str)


def test_the_dry_run_trades_the_5m_setup(tmp_path, monkeypatch):
    """A realtime replay of config.json's 1h setup would show one new candle an hour: the
    bot gets `-c config.json -c config.5m.json`, then the run's overlays and `-c` files."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import dry_run

    started = []
    monkeypatch.setattr(dry_run.subprocess, "Popen", lambda cmd, **_: started.append(cmd))
    args = dry_run.parse_args(["-c", str(tmp_path / "mine.json")])
    dry_run.start_bot(args, tmp_path, [tmp_path / "replay.json"], {})
    configs = [a for flag, a in zip(started[0], started[0][1:], strict=False) if flag == "-c"]
    assert configs == [str(ROOT / "config.json"), str(ROOT / "config.5m.json"),
                       str(tmp_path / "replay.json"), str(tmp_path / "mine.json")]


def test_a_datadir_without_5m_candles_is_refused_before_anything_starts(tmp_path, monkeypatch):
    """The README's by-hand generator writes 1h candles only: the realtime replay would serve
    them as 5m candles, so the dry-run refuses, naming `make data`, and starts nothing."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import dry_run

    (tmp_path / "BTC_USDT-1h.feather").write_bytes(b"")
    monkeypatch.setattr(dry_run, "run", lambda *a: pytest.fail("the dry-run started"))
    with pytest.raises(SystemExit, match=r"no 5m candles in .*run `make data` first"):
        dry_run.main(["--datadir", str(tmp_path), "--logdir", str(tmp_path / "logs")])


@pytest.mark.parametrize("where", ["root", "legacy"])
def test_a_backtest_of_a_running_dry_run_says_to_stop_it_first(tmp_path, where):
    """`make dry-run-backtest` in a second terminal while `make dry-run` runs: the port is
    held by the dry-run's exchange, and the port message said to kill that PID under the
    running bot. A running bot holds its live store's lock (an earlier release's bot, the
    store's legacy place in FreqAI's model folder), so the backtest names the dry-run as
    running and says to stop it; once the bot has stopped, the check passes."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import dry_run_backtest

    state = DryRunState(tmp_path)
    live = live_store(state.folder, "self-learning")
    store = live.root if where == "root" else live.legacy
    dry_run_backtest.check_stopped(state)  # no store yet
    with (
        lock_held_elsewhere(store) as bot_pid,
        pytest.raises(
            dry_run_backtest.NoDryRunError,
            match=rf"still running \(PID {bot_pid} holds .*{re.escape(str(store))}\).*Ctrl-C",
        ),
    ):
        dry_run_backtest.check_stopped(state)
    dry_run_backtest.check_stopped(state)


BACKTEST_SCRIPT = ROOT / "scripts" / "dry_run_backtest.py"
REPLAYED = "Backtesting using historic predictions (live models)"  # FreqAI's line
TRAINED = "Total time spent training pairlist"  # FreqAI, after a training round
FIRST_PREDICTIONS_S = 120  # a bot's start-up, download, first training or predictions
BACKTEST_S = 300


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def trained(run: DryRun) -> bool:
    log = run.logdir / "dry_run.log"
    return log.exists() and TRAINED in log.read_text()


def predicted(models: Path) -> bool:
    """FreqAI noted the bot's first live candle: its models predicted."""
    try:
        return "start_dry_live_date" in (models / "global_metadata.json").read_text()
    except OSError:
        return False


def backtest(run: DryRun) -> subprocess.CompletedProcess:
    """scripts/dry_run_backtest.py on `run`'s folder (another exchange port: a fresh clock
    check), with the dry-run's `-c` file."""
    return subprocess.run(
        [sys.executable, str(BACKTEST_SCRIPT), "--port", str(free_port()), "--datadir",
         str(run.datadir), "--rundir", str(run.rundir), "--logdir", str(run.logdir),
         "-c", str(run.extra)],
        cwd=run.tmp, env=freqtrade_env(), capture_output=True, text=True, timeout=BACKTEST_S)


@pytest.mark.e2e
def test_backtest_of_a_stopped_dry_run_replays_its_predictions(tmp_path, datadir, dry_runs):
    """`make dry-run-backtest` after `make dry-run`: the exchange restarts on the dry-run's
    clock, freqtrade downloads the bot's period and backtests the predictions its models
    saved (exit 0, FreqAI's line); the models folder stays byte-identical apart from FreqAI's
    run_params.json, and the live store and the trades database too. Without clock.json: one
    clear line."""
    run = DryRun(tmp_path, datadir)
    run.extra.write_text(json.dumps({  # the dry-run's own user_data_dir and trades database
        "exchange": {"pair_whitelist": ["BTC/USDT"]},
        "freqai": {"self_learning": {"epochs": 2, "incremental_epochs": 1}}}))
    missing = backtest(run)
    assert missing.returncode == 1 and missing.stdout.strip() == (
        f"no {run.rundir / 'clock.json'}: run `make dry-run` first"), missing

    # A clock started an hour ago (as if the first `make dry-run` was then): a backtest whose
    # exchange took a new clock would serve other candles under the bot's dates.
    clock = ReplayClock(now_ms() - 3_600_000, 4000, "1m", recording_fingerprint(datadir))
    DryRunState(run.rundir).start(clock)
    # The first bot trains; the next 5m candle, its first predictions, may be minutes away. A
    # second `make dry-run` (continuing the clock) predicts at once with the stored model.
    models = run.rundir / "models" / "self-learning"
    for first in (True, False):
        dry_runs.append(run.start())
        run.started()
        deadline = time.monotonic() + FIRST_PREDICTIONS_S
        while not (trained(run) if first else predicted(models)):
            assert time.monotonic() < deadline and run.proc.poll() is None, run.text()[-4000:]
            time.sleep(0.5)
        run.proc.send_signal(signal.SIGINT)
        assert run.proc.wait(timeout=STOP_TIMEOUT_S) == 0, run.text()[-3000:]
    db = run.rundir / "tradesv3.dryrun.sqlite"
    live = live_store(run.rundir, "self-learning").root
    before, db_before, live_before = files_of(models), db.read_bytes(), files_of(live)

    done = backtest(run)
    output = done.stdout + done.stderr
    assert done.returncode == 0 and REPLAYED in output, output[-6000:]
    assert f"results in {run.rundir / 'backtest_results'}" in done.stdout, output[-3000:]
    assert list((run.rundir / "backtest_results").glob("*.zip")), output[-3000:]
    served = pd.read_feather(run.rundir / "data" / "BTC_USDT-5m.feather")
    recorded = pd.read_feather(datadir / "BTC_USDT-5m.feather")
    five = 300_000
    served_ms = (served["date"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    index = (served_ms - clock.first_candle_ms(five)) // five
    assert len(served) > 1000 and index.iloc[0] == 0  # the exchange's first candle on
    assert (served["close"].to_numpy()[:-1]  # (the newest one may be partial)
            == recorded["close"].to_numpy()[index.to_numpy()[:-1]]).all()
    after = files_of(models)
    assert {p for p in before.keys() | after.keys()
            if before.get(p) != after.get(p)} <= {"run_params.json"}
    assert db.read_bytes() == db_before
    assert live_before and files_of(live) == live_before, "the live store changed"


PR_SET_CHILD_SUBREAPER = 36
BACKTEST_STOP_S = 20  # well below the 30 s after which the script kills its freqtrade


@contextlib.contextmanager
def subreaper():
    """Inside, the orphans of this process's descendants become its children (Linux prctl
    PR_SET_CHILD_SUBREAPER), not init's: a child a script did not wait for is `adopted`."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        pytest.skip("no PR_SET_CHILD_SUBREAPER here")
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def adopted(pid: int) -> bool:
    """`pid` was orphaned to this process (running, or a zombie that is reaped here)."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return True


def bound_freqtrade_child(parent: int, timeout: float) -> int:
    """The PID of `parent`'s child running self_learning_offline.bound_freqtrade, once it
    handles STOP_SIGNAL (its stop request: freqtrade is being imported or runs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            try:
                stat = (entry / "stat").read_text() if entry.name.isdigit() else ""
                if not stat or int(stat.rsplit(")", 1)[1].split()[1]) != parent:
                    continue
                if b"bound_freqtrade" not in (entry / "cmdline").read_bytes():
                    continue
                status = (entry / "status").read_text()
            except OSError:
                continue
            caught = int(re.search(r"SigCgt:\s*([0-9a-f]+)", status)[1], 16)
            if caught >> (STOP_SIGNAL - 1) & 1:
                return int(entry.name)
        time.sleep(0.05)
    pytest.fail(f"no freqtrade child of PID {parent} within {timeout:.0f} s", pytrace=False)


def test_a_stop_request_stops_the_backtests_freqtrade_then_the_exchange(tmp_path, datadir):
    """Ctrl-C of `make dry-run-backtest` while its freqtrade runs: the script sends freqtrade
    the stop request (dry_run.stop_freqtrade), waits for it to end, then stops the replay
    exchange and exits 130, in seconds (not after the 30 s kill). Neither child is left behind:
    with this test as the subreaper, a child the script had not waited for would be adopted."""
    state = DryRunState(tmp_path / "run")
    state.start(ReplayClock(now_ms() - 3_600_000, 4000, "1m", recording_fingerprint(datadir)))
    models = state.models / "self-learning"  # config.json's identifier
    models.mkdir(parents=True)
    (models / "historic_predictions.pkl").write_bytes(b"")  # never read: stopped before
    (models / "global_metadata.json").write_text(json.dumps({"start_dry_live_date": 0}))
    extra = tmp_path / "test.json"
    extra.write_text(json.dumps({"exchange": {"pair_whitelist": ["BTC/USDT"]}}))
    port, output = free_port(), tmp_path / "backtest.out"
    with subreaper():
        with output.open("w") as out:
            script = subprocess.Popen(
                [sys.executable, str(BACKTEST_SCRIPT), "--port", str(port), "--datadir",
                 str(datadir), "--rundir", str(state.folder), "--logdir", str(tmp_path / "logs"),
                 "-c", str(extra)], cwd=tmp_path, env=freqtrade_env(), stdout=out,
                stderr=subprocess.STDOUT)
        children: list[int] = []
        try:
            freqtrade = bound_freqtrade_child(script.pid, 60)
            children = [int(re.search(r"Replay exchange PID (\d+)", output.read_text())[1]),
                        freqtrade]
            assert listening(port)
            stop = time.monotonic()
            script.send_signal(signal.SIGINT)
            code = script.wait(timeout=BACKTEST_STOP_S)
            stopped_s = time.monotonic() - stop
            left = [pid for pid in children if adopted(pid)]
        finally:
            script.kill()
            script.wait()
            for pid in children:
                if adopted(pid):
                    os.kill(pid, signal.SIGKILL)
                    os.waitpid(pid, 0)
    text = output.read_text()
    assert code == 130 and left == [], text[-3000:]
    assert stopped_s < BACKTEST_STOP_S and "did not stop" not in text, text[-3000:]
    assert re.search(r"Stopping freqtrade download-data \.\.\.\nSIGINT received\.\n"
                     r"Stopping the replay exchange \.\.\.\n$", text), text[-3000:]
    assert wait_gone(children) == [] and not listening(port)
    assert not (state.folder / "replay.json").exists()  # the overlays removed
