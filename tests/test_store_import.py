"""The store package loads its TensorFlow parts lazily: the lock check of
`make dry-run-backtest` (scripts/dry_run_backtest.py) imports without TensorFlow, and the
package's public names still resolve to the classes and functions of their modules."""

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r"""
import json, sys
sys.path.insert(0, sys.argv[1])
import self_learning.store.writer_lock, self_learning.store.relocation
from self_learning.store import StoreConflict, StoreError, StoreInUse, versions_to_remove
from self_learning.store import writer_lock
from self_learning.store import metadata
print(json.dumps({"tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules,
                  "in_use_is_error": issubclass(StoreInUse, StoreError),
                  "conflict_is_error": issubclass(StoreConflict, StoreError),
                  "holder": writer_lock.holder(sys.argv[2])}))
"""


def test_writer_lock_imports_without_tensorflow(tmp_path):
    """Checking a store's lock (and its errors, retention and metadata) and moving a store
    (relocation) load no TensorFlow."""
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(ROOT / "freqai_models"), str(tmp_path / "store")],
        capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result == {"tensorflow": False, "keras": False, "in_use_is_error": True,
                      "conflict_is_error": True, "holder": None}


def test_public_names_resolve_to_their_modules():
    """`from self_learning.store import X` gives the object its module defines, for every
    name in __all__; an unknown name is an AttributeError."""
    import self_learning.store as store
    from self_learning.store import model_store, pair_store, snapshot

    assert store.ModelStore is model_store.ModelStore
    assert store.PairStore is pair_store.PairStore
    assert store.snapshot_variables is snapshot.snapshot_variables
    for name in store.__all__:
        assert getattr(store, name) is not None and name in dir(store)
    with pytest.raises(AttributeError, match="no_such_name"):
        store.no_such_name  # noqa: B018
    assert importlib.import_module("self_learning.store.retention").versions_to_remove \
        is store.versions_to_remove
