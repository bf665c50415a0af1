"""What the store keeps, found by fault injection: retention removes only intact versions of
the model being saved that newer ones supersede; one process writes a store; a full disk and
permission errors are handled and said as such.

* versions of another feature list, of the previous release's layout, damaged ones, ones
  holding a user's file, unreadable ones (chmod 000, as an unprivileged user) survive saves;
* a second process on a store refuses to start, naming the folder and the holder's PID
  (the adapter: freqtrade's OperationalException);
* a disk with room for exactly `keep_versions` versions keeps saving (tmpfs in a private
  mount namespace), and never loses its last version to make room.

The two filesystem scenarios run in a process of their own each (tests/store_faults.py), side
by side.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from store_writer import PAIR, build_modules, graph_keys_for, metadata_for, train_steps
from synthetic import FEATURES, TIMEFRAME_S, small_config

from self_learning.runtime.lifecycle import SelfLearningRuntime
from self_learning.runtime.run_stores import live_store
from self_learning.store import ModelStore, StoreInUse, writer_lock

TESTS = Path(__file__).parent
FAULTS = TESTS / "store_faults.py"
OLD_RELEASE = TESTS / "fixtures" / "store_a645a97"
NOBODY = 65534


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _save_learner(runtime: SelfLearningRuntime, learner, times: int) -> list[int]:
    store = runtime.store.pair(PAIR)
    keys = {name: learner.graph_key() for name in learner.modules()}
    numbers = []
    for _ in range(times):
        learner.state.training_counter.assign_add(1)
        numbers.append(store.save(learner.modules(), learner.metadata(), keys).number)
    return numbers


def _kept_messages(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("Keeping ")]


@pytest.fixture
def unlocked():
    """Stores this test's process locked are released at the end (a new process would)."""
    roots: list[Path] = []
    yield roots
    for root in roots:
        writer_lock.release(root)


def test_versions_of_another_feature_list_are_kept(tmp_path, caplog, unlocked):
    """After a feature change the old model's versions stay (the log said so), however many
    versions of the new model retention removes; the log says where they are and why."""
    root = tmp_path / "self_learning"
    unlocked.append(root)
    runtime = SelfLearningRuntime(small_config(keep_versions=2), root, TIMEFRAME_S,
                                  background_saves=False)
    assert _save_learner(runtime, runtime.learners.learner(PAIR, FEATURES), 3) == [1, 2, 3]
    folder = runtime.store.pair(PAIR).path
    old = {n: _tree(folder / n) for n in ("v000002", "v000003")}
    caplog.set_level(logging.INFO)
    renamed = [f"{name}_v2" for name in FEATURES]  # same count: same variable layout
    fresh = runtime.learners.learner(PAIR, renamed)
    assert "starting fresh models (the stored versions are kept)" in caplog.text
    assert _save_learner(runtime, fresh, 4) == [4, 5, 6, 7]
    assert sorted(p.name for p in folder.iterdir()) == [
        "CURRENT", "v000002", "v000003", "v000006", "v000007"]
    assert {n: _tree(folder / n) for n in old} == old
    kept = _kept_messages(caplog)
    assert len(kept) == 2 and all("with other features (another model)" in m for m in kept)
    assert str(folder / "v000002") in kept[0] + kept[1]


def test_the_previous_releases_version_is_kept_after_an_upgrade(tmp_path, caplog, unlocked):
    """A store of the previous layout (wide-deep-2) upgrades on restore; later saves, even
    with keep_versions = 1, leave that release's version as it was (to roll back to)."""
    root = tmp_path / "self_learning"
    unlocked.append(root)
    shutil.copytree(OLD_RELEASE, root)
    before = _tree(root / "BTC_USDT" / "v000002")
    runtime = SelfLearningRuntime(small_config(keep_versions=1), root, TIMEFRAME_S,
                                  background_saves=False)
    learner = runtime.learners.learner(PAIR, FEATURES)
    assert learner.training_counter > 0  # restored through the upgrade
    caplog.set_level(logging.INFO)
    assert _save_learner(runtime, learner, 3) == [3, 4, 5]
    assert sorted(p.name for p in (root / "BTC_USDT").iterdir()) == [
        "CURRENT", "v000002", "v000005"]
    assert _tree(root / "BTC_USDT" / "v000002") == before
    kept = _kept_messages(caplog)
    assert len(kept) == 1 and "layout (another model)" in kept[0]
    assert str(root / "BTC_USDT" / "v000002") in kept[0]


def _truncate_data(version: Path) -> bytes:
    path = sorted((version / "encoder" / "variables").glob("variables.data-*"))[0]
    path.write_bytes(path.read_bytes()[:-7])
    return path.read_bytes()


def test_damaged_versions_and_user_files_are_kept(tmp_path, caplog, unlocked):
    """A damaged version and a version holding a file the store did not write are never
    removed; the intact versions of the model are, once newer ones supersede them."""
    unlocked.append(tmp_path)
    modules = build_modules(1)
    pair_store = ModelStore(tmp_path, keep_versions=2).pair(PAIR)
    for counter in (1, 2, 3):
        train_steps(modules, 1)
        pair_store.save(modules, metadata_for(modules, counter), graph_keys_for(modules))
    folder = pair_store.path
    _truncate_data(folder / "v000002")
    damaged = _tree(folder / "v000002")
    (folder / "v000003" / "encoder" / "my_notes.txt").write_text("mine")
    caplog.set_level(logging.INFO, logger="self_learning.store")
    for counter in (4, 5, 6, 7):
        train_steps(modules, 1)
        pair_store.save(modules, metadata_for(modules, counter), graph_keys_for(modules))
    assert sorted(p.name for p in folder.iterdir()) == [
        "CURRENT", "v000002", "v000003", "v000006", "v000007"]
    assert _tree(folder / "v000002") == damaged
    assert (folder / "v000003" / "encoder" / "my_notes.txt").read_text() == "mine"
    kept = _kept_messages(caplog)
    assert len(kept) == 2  # once each, not at every save
    assert "v000002" in kept[0] and "it is damaged" in kept[0] and "truncated" in kept[0]
    assert "v000003" in kept[1] and "files the store did not write (encoder/my_notes.txt)" \
        in kept[1]


HOLDER = """
import sys
from self_learning.store import ModelStore
ModelStore(sys.argv[1]).hold_lock()
print("held", flush=True)
sys.stdin.read()
"""


def _holder(root: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_process_on_the_store_refuses_to_start(tmp_path, unlocked):
    """While another process writes a store, a runtime on it refuses to start with one line
    naming the folder and that process's PID, and writes nothing; once the other process has
    ended, it starts."""
    root = tmp_path / "self_learning"
    unlocked.append(root)
    proc = _holder(root)
    try:
        with pytest.raises(StoreInUse) as refused:
            SelfLearningRuntime(small_config(), root, TIMEFRAME_S)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    message = str(refused.value)
    assert "\n" not in message
    assert f"The model store {root} is in use by process PID {proc.pid}" in message
    assert "freqai.identifier" in message
    assert not root.exists()
    SelfLearningRuntime(small_config(), root, TIMEFRAME_S).shutdown()


def test_the_adapter_turns_a_busy_store_into_an_operational_exception(ft_config, unlocked):
    """Two bots with one identifier and user_data: the second bot's SelfLearningModel stops
    with freqtrade's OperationalException naming the store and the first bot's PID."""
    from freqtrade.enums import RunMode
    from freqtrade.exceptions import OperationalException

    sys.path.insert(0, str(TESTS.parent / "freqai_models"))
    from SelfLearningModel import SelfLearningModel

    config = ft_config.data
    config["runmode"] = RunMode.DRY_RUN
    config["user_data_dir"] = Path(config["user_data_dir"])
    root = live_store(config["user_data_dir"], config["freqai"]["identifier"]).root
    unlocked.append(root)
    proc = _holder(root)
    try:
        with pytest.raises(OperationalException, match=f"{root} is in use by process PID "
                                                       f"{proc.pid}"):
            SelfLearningModel(config=config)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)


def _start_faults(scenario: str, prefix: list[str], where: Path,
                  checkout: Path | None = None) -> subprocess.Popen:
    """Start tests/store_faults.py SCENARIO WHERE under `prefix`; with `checkout`, the project
    folder is seen at that path instead (see _as_nobody)."""
    moved = (lambda p: str(p).replace(str(TESTS.parent), str(checkout), 1)) if checkout \
        else str
    paths = [moved(TESTS), *([moved(TESTS.parent / "freqai_models")] if checkout else []),
             os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "HOME": str(where),
           "PYTHONPATH": os.pathsep.join(paths)}
    return subprocess.Popen(prefix + [moved(sys.executable), moved(FAULTS), scenario, str(where)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


class FaultRuns:
    """Both filesystem scenarios of store_faults.py, started together (each in a folder of its
    own, sharing nothing: they take the time of one on two cores); a test reads its own."""

    def __init__(self, disk_full_where: Path, unreadable_where: Path) -> None:
        self.where = {"disk_full": disk_full_where, "unreadable": unreadable_where}
        mounts = ["unshare", "-m", "--propagation", "private"] if os.geteuid() == 0 \
            else ["unshare", "-Urm"]
        prefix, checkout = [], None
        if os.geteuid() == 0:  # root reads anything: run the scenario as nobody
            os.chown(unreadable_where, NOBODY, NOBODY)
            prefix, checkout = _as_nobody(unreadable_where)
        self.procs = {"disk_full": _start_faults("disk_full", mounts, disk_full_where),
                      "unreadable": _start_faults("unreadable", prefix, unreadable_where,
                                                  checkout)}

    def result(self, scenario: str) -> dict:
        """The scenario's JSON line, once its process has ended with 0."""
        proc = self.procs[scenario]
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
        return json.loads(out.strip().splitlines()[-1])

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.communicate()


@pytest.fixture(scope="module")
def fault_runs(tmp_path_factory):
    """FaultRuns: disk_full in a tmp folder, unreadable in a folder of /tmp that nobody may
    own (removed afterwards)."""
    unreadable = Path(tempfile.mkdtemp(prefix="store-faults-"))
    try:
        runs = FaultRuns(tmp_path_factory.mktemp("disk_full"), unreadable)
        yield runs
        runs.stop()
    finally:
        shutil.rmtree(unreadable, ignore_errors=True)


def test_a_disk_with_room_for_keep_versions_keeps_saving(fault_runs):
    """tmpfs sized for keep_versions versions (+ half of one): retention makes room before a
    save, so every save lands and the newest ones are kept; with keep_versions = 1 the last
    version is never deleted to make room: the save fails saying the disk is full."""
    out = fault_runs.result("disk_full")
    assert out["keep3"] == {"saved": list(range(1, 12)), "errors": [], "versions": [9, 10, 11],
                            "restored": 11}
    assert out["keep1"]["saved"] == [1] and out["keep1"]["versions"] == [1]
    assert out["keep1"]["restored"] == 1 and len(out["keep1"]["errors"]) == 4
    assert all(e.startswith("The disk is full while saving BTC/USDT in ") and
               "free some space" in e for e in out["keep1"]["errors"])


def _as_nobody(where: Path) -> tuple[list[str], Path]:
    """A prefix that runs a command as nobody, and the path it sees the project folder at.
    The checkout may sit in a folder only root can enter (a CI's `mktemp -d`), so the command
    runs in a private mount namespace where the project folder is bind-mounted on an empty
    folder anyone can traverse (inside `where`, which nobody owns)."""
    checkout = where / "checkout"
    checkout.mkdir(mode=0o755)
    mount = ('mount --bind "$1" "$2" && shift 2 && exec setpriv --reuid="$0" --regid="$0" '
             '--clear-groups "$@"')
    return (["unshare", "-m", "--propagation", "private", "sh", "-c", mount, str(NOBODY),
             str(TESTS.parent), str(checkout)], checkout)


def test_unreadable_versions_are_kept_and_permission_errors_say_so(fault_runs):
    """As an unprivileged user: a version folder made unreadable (chmod 000) and a version
    with an unreadable data file are skipped by restore with a message saying it is a
    permission problem and naming the path (not "does not fit"), and are kept by retention;
    a save into a read-only folder is a permission error naming the folder."""
    out, where = fault_runs.result("unreadable"), fault_runs.where["unreadable"]
    assert out["uid"] != 0
    folder = where / "self_learning" / "BTC_USDT"
    assert out["restored"] == 1
    skipped = [m for m in out["restore_log"] if m.startswith("Skipping saved version")]
    assert len(skipped) == 2 and not any("does not fit" in m for m in skipped)
    assert f"{folder}/v000003/encoder.json cannot be read: a permission problem" in skipped[0]
    assert "a permission problem (Permission denied: " \
           f"{folder}/v000002/encoder/variables/variables.data-" in skipped[1]
    assert out["folders"] == ["CURRENT", "v000002", "v000003", "v000004", "v000005", "v000006"]
    kept = [m for m in out["retention_log"] if m.startswith("Keeping ")]
    assert len(kept) == 2 and all("a permission problem" in m for m in kept)
    assert out["save_error"].startswith("Permission problem while saving BTC/USDT: ")
    assert out["save_error"].endswith(f"give the bot's user read and write access to {folder}.")
