"""Moving the live store out of FreqAI's model folder (self_learning.store.relocation).

The moves run on real folders: one filesystem (os.rename), and two (a tmpfs under /dev/shm and
/tmp: os.rename fails with EXDEV, so the store is copied, fsynced, published and the old
folder removed). A crash is simulated by the folders it leaves behind at each step.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from lock_holder import lock_held_elsewhere

from self_learning.runtime.run_stores import live_store
from self_learning.store import StoreConflict, StoreInUse, writer_lock
from self_learning.store.layout import is_tmp_name
from self_learning.store.relocation import MOVED_FILE, StoreMove

SHM = Path("/dev/shm")


def fake_store(root: Path) -> dict[str, str]:
    """A store's shape (pair folders, CURRENT, versions, a temp folder of a save in flight)
    with distinct bytes per file; returns its files."""
    for pair, versions in (("BTC_USDT", (3, 4)), ("ETH_USDT", (1,))):
        for number in versions:
            folder = root / pair / f"v{number:06d}" / "encoder" / "variables"
            folder.mkdir(parents=True)
            (folder / "variables.data-00000-of-00001").write_bytes(os.urandom(4096))
            (folder.parent.parent / "encoder.json").write_text(f'{{"version": {number}}}\n')
        (root / pair / "CURRENT").write_text(f'{{"version": {versions[-1]}}}\n')
    return files_of(root)


def files_of(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def move(tmp_path):
    """The live store of identifier `bot` in tmp_path/user_data: legacy place -> new root."""
    live = live_store(tmp_path / "user_data", "bot")
    mover = StoreMove(live.legacy, live.root)
    yield mover
    writer_lock.release(mover.new)
    writer_lock.release(mover.old)


@pytest.fixture
def shm_folder():
    if not SHM.is_dir() or os.stat(SHM).st_dev == os.stat(tempfile.gettempdir()).st_dev:
        pytest.skip("needs /dev/shm on another filesystem than the temp folder")
    folder = Path(tempfile.mkdtemp(prefix="relocation-", dir=SHM))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_the_legacy_store_moves_once_with_one_log_line(move, caplog):
    """At a live start with only the legacy store: it is renamed to the new root (every file,
    byte for byte), the legacy folder and its lock file are gone, one INFO line names both
    paths; a second start moves nothing."""
    files = fake_store(move.old)
    writer_lock.hold(move.old)  # as an earlier release's bot left its lock file
    writer_lock.release(move.old)
    caplog.set_level(logging.INFO, logger="self_learning.store.relocation")
    assert move.settle() is True
    assert files_of(move.new) == files
    assert not move.old.exists() and not writer_lock.lock_path(move.old).exists()
    assert move.old.parent.is_dir()  # FreqAI's model folder stays
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [f"Moved the model store {move.old} to {move.new} (freqtrade's lookahead- "
                     f"and recursive-analysis delete {move.old.parent})."]
    assert move.settle() is False and files_of(move.new) == files


def test_without_a_legacy_store_nothing_moves(move):
    """A fresh bot: no store anywhere, none is created (the first save creates it)."""
    assert move.settle() is False
    assert not move.new.exists() and not move.old.exists()


def test_two_stores_refuse_the_start_naming_both(move):
    """Both places hold a store (e.g. an earlier release was started again after the move):
    StoreConflict names both folders and what to do; neither is touched."""
    old, new = fake_store(move.old), fake_store(move.new)
    with pytest.raises(StoreConflict) as refused:
        move.settle()
    message = str(refused.value)
    assert str(move.new) in message and str(move.old) in message
    assert f"mv {move.old} {move.old}.old" in message and "start again" in message
    assert files_of(move.old) == old and files_of(move.new) == new


def test_the_move_waits_for_no_second_bot(move, tmp_path):
    """Another process holds the new root's lock (a second bot of this release) or the legacy
    one (a bot of an earlier release still running): StoreInUse, nothing moves."""
    files = fake_store(move.old)
    for held in (move.new, move.old):
        with (
            lock_held_elsewhere(held) as pid,
            pytest.raises(StoreInUse, match=f"in use by process PID {pid}"),
        ):
            move.settle()
        writer_lock.release(move.new)
        assert files_of(move.old) == files and not move.new.exists()
    assert move.settle() is True and files_of(move.new) == files


def test_a_move_across_filesystems_copies_publishes_and_removes(tmp_path, shm_folder, caplog):
    """FreqAI's model folder on another filesystem (a Docker volume): os.rename fails with
    EXDEV, the store is copied beside the new root under our temp name, published, and the
    legacy folder removed; nothing of ours is left but the new root."""
    old = shm_folder / "models" / "bot" / "self_learning"
    new = tmp_path / "user_data" / "self_learning" / "bot"
    new.parent.mkdir(parents=True)
    files = fake_store(old)
    assert os.stat(old).st_dev != os.stat(new.parent).st_dev
    move = StoreMove(old, new)
    assert is_tmp_name(move.staging.name) and move.staging.parent == new.parent
    caplog.set_level(logging.INFO, logger="self_learning.store.relocation")
    try:
        assert move.settle() is True
    finally:
        writer_lock.release(new)
    assert files_of(new) == files  # no MOVED file: it is written into the old folder only
    assert not old.exists() and sorted(p.name for p in old.parent.iterdir()) == []
    assert sorted(p.name for p in new.parent.iterdir()) == ["bot", "bot.lock"]
    assert f"Moved the model store {old} to {new}" in caplog.text


def test_a_copy_interrupted_before_it_was_published_is_redone(move):
    """A crash during the copy across filesystems: a partial copy under our temp name beside
    the new root (never a store root) and maybe the MOVED mark in the complete legacy store.
    The next start removes the partial copy and moves the legacy store, without the mark."""
    files = fake_store(move.old)
    (move.old / MOVED_FILE).write_text("copied")
    (move.staging / "BTC_USDT").mkdir(parents=True)
    (move.staging / "BTC_USDT" / "CURRENT").write_text('{"vers')
    assert move.settle() is True
    assert files_of(move.new) == files and not move.staging.exists()


def test_a_copy_published_before_the_old_folder_was_removed_finishes(move):
    """A crash after the copy was published: both folders, the legacy one marked MOVED (or
    already renamed for deletion). The next start removes what is left of it and keeps the
    copy, instead of refusing to start."""
    files = fake_store(move.new)
    fake_store(move.old)
    (move.old / MOVED_FILE).write_text("copied")
    assert move.settle() is False
    assert files_of(move.new) == files and not move.old.exists()

    fake_store(move.doomed)  # rmtree of the renamed legacy folder interrupted
    assert move.settle() is False
    assert files_of(move.new) == files and not move.doomed.exists()


def test_the_bot_refuses_to_start_on_two_stores(ft_config):
    """SelfLearningModel in a dry-run with a store in both places stops with freqtrade's
    OperationalException naming both folders (exit 2 at the CLI, like every refusal)."""
    from freqtrade.enums import RunMode
    from freqtrade.exceptions import OperationalException
    from SelfLearningModel import SelfLearningModel

    config = ft_config.data
    config["runmode"] = RunMode.DRY_RUN
    config["user_data_dir"] = Path(config["user_data_dir"])
    live = live_store(config["user_data_dir"], config["freqai"]["identifier"])
    fake_store(live.root)
    fake_store(live.legacy)
    try:
        with pytest.raises(OperationalException,
                           match=rf"Two model stores of this bot: {live.root} .* and "
                                 rf"{live.legacy} \(where earlier releases kept them\)"):
            SelfLearningModel(config=config)
    finally:
        writer_lock.release(live.root)
