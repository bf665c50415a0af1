"""Moving a store folder to a new home once, crash-safe, before it is opened.

`StoreMove(old, new).settle()` takes the writer lock of `new` (writer_lock.py; the process keeps
it, so no second bot starts on either folder while it moves) and the lock of `old` (a bot of an
earlier release writing there), then:

* `old` absent: nothing to do (apart from removing leftovers of an interrupted move);
* `new` absent: `old` is renamed to `new` (one `os.rename`). Across filesystems (EXDEV: e.g.
  `models/` on its own Docker volume) it is copied into `<new's parent>/.tmp-self_learning-
  moving-<name>` (our temp prefix: no store ever loads it), fsynced and renamed to `new`; `old`
  gets a MOVED file before that rename, and is then renamed to `.tmp-self_learning-moved-
  <name>` beside it and deleted;
* both present: StoreConflict naming both folders, unless `old` holds MOVED (a copy that was
  published before a crash removed `old`): then `old` is removed.

A crash at any point leaves one complete store under `old` or `new`, never a partial one
under either name, and the next `settle()` removes the temp folders and finishes.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from pathlib import Path

from self_learning.store import writer_lock
from self_learning.store.atomic import fsync_path, sync_tree
from self_learning.store.errors import StoreConflict, StoreError, explain
from self_learning.store.layout import TMP_PREFIX

logger = logging.getLogger(__name__)

MOVED_FILE = "MOVED"  # in `old` once its copy in the new home is complete
MOVED_TEXT = ("This folder was copied to {new}; the copy is the model store now. This folder "
              "is deleted at the next start of the bot (or delete it yourself).\n")


class StoreMove:
    """One store's move from `old` to `new`; `settle()` at every start does it, or finishes it."""

    def __init__(self, old: Path, new: Path):
        self.old, self.new = Path(old), Path(new)

    @property
    def staging(self) -> Path:
        """The copy in flight, beside `new`."""
        return self.new.parent / f"{TMP_PREFIX}moving-{self.new.name}"

    @property
    def doomed(self) -> Path:
        """`old` on its way out, beside it."""
        return self.old.parent / f"{TMP_PREFIX}moved-{self.old.name}"

    def settle(self) -> bool:
        """Make `new` the store: move `old` there when only `old` exists (True when it
        moved). StoreConflict when both hold a store; StoreInUse when another process
        writes either; StoreError for a permission or disk-full problem."""
        writer_lock.hold(self.new)
        self._remove_leftovers()
        if not self.old.exists():
            return False
        copied = (self.old / MOVED_FILE).exists()
        if self.new.exists() and not copied:
            raise StoreConflict(
                f"Two model stores of this bot: {self.new} (where it keeps its models) and "
                f"{self.old} (where earlier releases kept them). Keep the one to continue "
                f"from at {self.new} and move the other out of the way (e.g. `mv {self.old} "
                f"{self.old}.old`), then start again.")
        writer_lock.hold(self.old)
        try:
            if self.new.exists():  # a copy published before a crash: finish the move
                logger.info(f"Removing {self.old}: it was copied to {self.new}, the model "
                            "store, before the bot stopped.")
                self._remove_old()
                return False
            self._move()
        except OSError as err:
            raise (explain(err, self.new, f"moving the model store {self.old}") or StoreError(
                f"Could not move the model store {self.old} to {self.new} ({err}); it is "
                f"still complete in {self.old}: move it there yourself, then start "
                "again.")) from err
        finally:
            writer_lock.lock_path(self.old).unlink(missing_ok=True)
            writer_lock.release(self.old)
        logger.info(f"Moved the model store {self.old} to {self.new} (freqtrade's lookahead- "
                    f"and recursive-analysis delete {self.old.parent}).")
        return True

    def _move(self) -> None:
        (self.old / MOVED_FILE).unlink(missing_ok=True)  # from a copy never published
        try:
            os.rename(self.old, self.new)
        except OSError as err:
            if err.errno != errno.EXDEV:
                raise
            self._copy()
            return
        fsync_path(self.new.parent)
        fsync_path(self.old.parent)

    def _copy(self) -> None:
        """`old` on another filesystem: copy, fsync, mark `old` as copied, publish the copy,
        then remove `old`."""
        try:
            shutil.copytree(self.old, self.staging, symlinks=True)
            sync_tree(self.staging)
            fsync_path(self.staging.parent)
            with open(self.old / MOVED_FILE, "w", encoding="utf-8") as handle:
                handle.write(MOVED_TEXT.format(new=self.new))
                handle.flush()
                os.fsync(handle.fileno())
            fsync_path(self.old)
            os.rename(self.staging, self.new)
        except BaseException:
            shutil.rmtree(self.staging, ignore_errors=True)
            raise
        fsync_path(self.new.parent)
        self._remove_old()

    def _remove_old(self) -> None:
        """`old`, whose copy `new` is the store now: renamed out of the way first, so a crash
        never leaves part of it under its name; a failure is only a warning (the next start
        tries again)."""
        try:
            os.rename(self.old, self.doomed)
            fsync_path(self.old.parent)
            shutil.rmtree(self.doomed)
        except OSError as err:
            logger.warning(f"Could not delete {self.old} after copying it to {self.new} "
                           f"({err}); the bot uses {self.new}: delete {self.old} yourself.")

    def _remove_leftovers(self) -> None:
        for leftover in (self.staging, self.doomed):
            if leftover.is_dir() and not leftover.is_symlink():
                shutil.rmtree(leftover)
                logger.info(f"Removed {leftover} left by an interrupted move of the model "
                            "store.")
