"""Crash-safe, versioned persistence of a pair's networks (SavedModel + checkpoint per network).

    store = ModelStore(root, keep_versions=3)
    pair_store = store.pair("BTC/USDT")
    info = pair_store.save(modules, metadata, graph_keys)   # VersionInfo
    info = pair_store.save_snapshot(snapshot_variables(modules), metadata, graph_keys,
                                    build_modules=lambda: modules)  # only for a full save
    restored = pair_store.restore(modules)                  # RestoreResult | None

See pair_store.py for the on-disk layout and the guarantees.
"""

from self_learning.store.errors import StoreError, StoreInUse
from self_learning.store.model_store import ModelStore
from self_learning.store.pair_store import PairStore, RestoreResult, VersionInfo
from self_learning.store.retention import versions_to_remove
from self_learning.store.snapshot import assign_snapshot, snapshot_variables

__all__ = [
    "ModelStore",
    "PairStore",
    "RestoreResult",
    "StoreError",
    "StoreInUse",
    "VersionInfo",
    "assign_snapshot",
    "snapshot_variables",
    "versions_to_remove",
]
