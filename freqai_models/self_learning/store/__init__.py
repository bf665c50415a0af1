"""Crash-safe, versioned persistence of a pair's networks (SavedModel + checkpoint per network).

    store = ModelStore(root, keep_versions=3)
    pair_store = store.pair("BTC/USDT")
    info = pair_store.save(modules, metadata, graph_keys)   # VersionInfo
    info = pair_store.save_snapshot(snapshot_variables(modules), metadata, graph_keys,
                                    build_modules=lambda: modules)  # only for a full save
    restored = pair_store.restore(modules)                  # RestoreResult | None

See pair_store.py for the on-disk layout and the guarantees.

The names below load on first use (PEP 562), so the TensorFlow-free parts (writer_lock,
errors, retention, layout, metadata, relocation) import without TensorFlow: `make
dry-run-backtest` checks a store's lock without paying for it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from self_learning.store.errors import StoreConflict, StoreError, StoreInUse
    from self_learning.store.model_store import ModelStore
    from self_learning.store.pair_store import PairStore, RestoreResult, VersionInfo
    from self_learning.store.retention import versions_to_remove
    from self_learning.store.snapshot import assign_snapshot, snapshot_variables

_HOMES = {  # public name -> the module that defines it
    "ModelStore": "model_store",
    "PairStore": "pair_store",
    "RestoreResult": "pair_store",
    "StoreConflict": "errors",
    "StoreError": "errors",
    "StoreInUse": "errors",
    "VersionInfo": "pair_store",
    "assign_snapshot": "snapshot",
    "snapshot_variables": "snapshot",
    "versions_to_remove": "retention",
}

__all__ = [
    "ModelStore",
    "PairStore",
    "RestoreResult",
    "StoreConflict",
    "StoreError",
    "StoreInUse",
    "VersionInfo",
    "assign_snapshot",
    "snapshot_variables",
    "versions_to_remove",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:  # submodules (`from self_learning.store import metadata`) import as usual
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))
