"""Test helper: fault scenarios of the store that need a real filesystem limit, run in a
process of their own (tests/test_store_retention.py starts it).

    python store_faults.py disk_full <dir>     as root, in a private mount namespace
                                               (`unshare -m`): mounts a small tmpfs at <dir>
    python store_faults.py unreadable <dir>    as an unprivileged user (root reads anything)

Each prints one JSON line with what happened; the test asserts on it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import subprocess
import sys
from pathlib import Path

from store_writer import PAIR, build_modules, graph_keys_for, metadata_for, train_steps

from self_learning.store import ModelStore, StoreError

PAGE = 4096


def _save(pair_store, modules, counter):
    train_steps(modules, 1)
    return pair_store.save(modules, metadata_for(modules, counter), graph_keys_for(modules))


def _version_bytes(folder: Path) -> int:
    """What one version takes on tmpfs: whole pages per file."""
    return sum(math.ceil(p.stat().st_size / PAGE) * PAGE for p in folder.rglob("*") if p.is_file())


def _saves(root: Path, keep: int, count: int, modules) -> dict:
    pair_store = ModelStore(root, keep_versions=keep).pair(PAIR)
    saved, errors = [], []
    for counter in range(1, count + 1):
        try:
            saved.append(_save(pair_store, modules, counter).number)
        except StoreError as err:
            errors.append(str(err))
    restored = pair_store.restore(build_modules(99))
    return {"saved": saved, "errors": errors, "versions": pair_store.versions,
            "restored": restored.metadata["encoder"]["training_counter"] if restored else None}


def disk_full(base: Path) -> dict:
    """A tmpfs with room for exactly `keep` versions (plus half of one): saves go on; with
    keep_versions = 1 the only version is never deleted to make room."""
    modules = build_modules(1)
    probe = ModelStore(base / "probe").pair(PAIR)
    size = _version_bytes(_save(probe, modules, 0).path)
    out = {"version_bytes": size}
    for keep in (3, 1):
        mount = base / f"disk-{keep}"
        mount.mkdir()
        room = keep * size + size // 2 + 8 * PAGE  # CURRENT, lock file, their temp copies
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={room}", "tmpfs", str(mount)],
                       check=True)
        out[f"keep{keep}"] = _saves(mount / "self_learning", keep, 3 * keep + 2, modules)
    return out


def unreadable(base: Path) -> dict:
    """As a user without root's privileges: a version folder made unreadable (chmod 000) is
    skipped by restore with a permission message and kept by retention; a data file made
    unreadable is named; a save into a read-only pair folder says it is a permission problem."""
    modules = build_modules(1)
    root = base / "self_learning"
    pair_store = ModelStore(root, keep_versions=3).pair(PAIR)
    for counter in (1, 2, 3):
        _save(pair_store, modules, counter)
    folder = pair_store.path
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logging.getLogger("self_learning").addHandler(handler)
    logging.getLogger("self_learning").setLevel(logging.INFO)
    data = sorted((folder / "v000002" / "encoder" / "variables").glob("variables.data-*"))[0]
    data.chmod(0)
    (folder / "v000003").chmod(0)
    restored = pair_store.restore(build_modules(5))
    restore_log = list(records)
    for counter in (4, 5, 6):
        _save(pair_store, modules, counter)
    out = {"restored": restored.version if restored else None, "restore_log": restore_log,
           "retention_log": records[len(restore_log):],
           "folders": sorted(p.name for p in folder.iterdir())}
    folder.chmod(0o555)
    try:
        _save(pair_store, modules, 7)
    except StoreError as err:
        out["save_error"] = str(err)
    folder.chmod(0o755)
    (folder / "v000003").chmod(0o755)
    data.chmod(0o644)
    return out


if __name__ == "__main__":
    scenario, where = sys.argv[1], Path(sys.argv[2])
    result = {"disk_full": disk_full, "unreadable": unreadable}[scenario](where)
    print(json.dumps({"uid": os.getuid(), **result}), flush=True)
