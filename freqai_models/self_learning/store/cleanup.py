"""What a save may delete in a pair folder: temp folders of interrupted saves (only names
with the store's temp prefix; one writer per store, writer_lock.py, so none is in flight), and
versions of this model that newer intact ones supersede (inventory.py says which those are;
everything else is kept, and the log says once where and why)."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from self_learning.store.atomic import remove_dir_atomic
from self_learning.store.inventory import Inventory, Signature
from self_learning.store.layout import is_tmp_name
from self_learning.store.retention import versions_to_remove

logger = logging.getLogger(__name__)

Folders = Callable[[], list[tuple[int, Path]]]


class Cleanup:
    def __init__(self, pair: str, path: Path, keep_versions: int, inventory: Inventory):
        self.pair, self.path, self.keep_versions = pair, path, keep_versions
        self.inventory = inventory
        self._told: set[tuple[Path, str]] = set()
        self._room_for: Signature | None = None  # the model make_room last made room for

    def remove_leftovers(self) -> None:
        """Delete temp files/folders of interrupted saves (only names with our temp prefix)."""
        for entry in self.path.iterdir():
            if not is_tmp_name(entry.name):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            logger.info("Removed %s left by an interrupted save.", entry)

    def make_room(self, folders: Folders, wanted: Signature) -> None:
        """Before writing a version: keep `keep_versions - 1` intact versions of this model
        (at least one), so a disk with room for `keep_versions` versions still saves."""
        self._retain(folders, wanted, max(self.keep_versions - 1, 1), newest=None)
        self._room_for = wanted

    def apply(self, folders: Folders, wanted: Signature, newest: int) -> None:
        """After publishing `newest`: keep the newest `keep_versions` intact versions (done
        already when make_room kept `keep_versions - 1` of exactly this model)."""
        if self.keep_versions > 1 and wanted == self._room_for:
            return
        self._retain(folders, wanted, self.keep_versions, newest)

    def _retain(self, folders: Folders, wanted: Signature, keep: int,
                newest: int | None) -> None:
        intact: dict[int, Path] = {}
        for number, folder in folders():
            reason = None if number == newest else \
                self.inventory.reason_to_keep(number, folder, wanted)
            if reason is None:
                intact[number] = folder
            else:
                self._tell(folder, reason)
        protect = [] if newest is None else [newest]
        for number in versions_to_remove(intact, keep, protect=protect):
            remove_dir_atomic(intact[number])
            self.inventory.forget(intact[number])
            logger.debug("Removed %s (keeping the last %d versions).", intact[number],
                         self.keep_versions)

    def _tell(self, folder: Path, reason: str) -> None:
        if (folder, reason) in self._told:
            return
        self._told.add((folder, reason))
        calm = "(another model)" in reason or "not a version" in reason or "did not" in reason
        logger.log(logging.INFO if calm else logging.WARNING,
                   "Keeping %s of %s: %s; the store does not delete it (remove it yourself "
                   "when it is no longer needed).", folder, self.pair, reason)
