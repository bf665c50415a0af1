"""Graph templates (self_learning.store.templates): one full SavedModel per graph key and
process, every other save of any pair written from it; snapshots traced once per structure.

The modules come from tests/store_writer.py (Keras Dense stacks with Dropout, an eagerly built
Adam, a state module with a tf.random.Generator).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from self_learning.store import ModelStore, snapshot_variables
from self_learning.store.snapshot import module_variables

sys.path.insert(0, str(Path(__file__).parent))
from store_writer import build_modules, graph_keys_for, metadata_for, train_steps  # noqa: E402

X_ENC = np.linspace(-1.0, 1.0, 5 * 12, dtype=np.float32).reshape(5, 12)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[n].keys() == b[n].keys() and all(np.array_equal(a[n][p], b[n][p]) for p in a[n])
        for n in a)


def test_other_pairs_reuse_the_first_pairs_graph_and_serve_their_own_weights(tmp_path):
    """Pair A's first save writes full SavedModels; pair B's first save (other weights, same
    graph key) copies A's graph files and writes only B's variables: plain
    tf.saved_model.load serves B's outputs, and a restore gives back every B variable."""
    store = ModelStore(tmp_path)
    a, b = build_modules(1), build_modules(2)
    train_steps(a, 2)
    train_steps(b, 3)
    first = store.pair("A/USDT").save(a, metadata_for(a, 2), graph_keys_for(a))
    second = store.pair("B/USDT").save(b, metadata_for(b, 3), graph_keys_for(b))
    assert first.graphs_reused == () and set(second.graphs_reused) == set(b)
    for name in ("saved_model.pb", "fingerprint.pb"):
        assert (first.path / "encoder" / name).read_bytes() == \
            (second.path / "encoder" / name).read_bytes()
    loaded = tf.saved_model.load(str(second.path / "encoder"))
    np.testing.assert_array_equal(loaded.serve(X_ENC).numpy(), b["encoder"].serve(X_ENC).numpy())
    assert not np.array_equal(loaded.serve(X_ENC).numpy(), a["encoder"].serve(X_ENC).numpy())
    fresh = build_modules(9)
    assert store.pair("B/USDT").restore(fresh).version == 1
    assert _same(snapshot_variables(fresh), snapshot_variables(b))


def test_save_snapshot_builds_modules_only_for_a_missing_template(tmp_path):
    """The writer hands a snapshot: modules are built once, for the first full save of a
    graph key, and never again for any pair; what lands is the snapshot, not the modules'
    later values."""
    store = ModelStore(tmp_path)
    source = build_modules(3)
    train_steps(source, 2)
    builds = []

    def build():
        builds.append(1)
        return source

    for i, pair in enumerate(["A/USDT", "B/USDT", "A/USDT"]):
        values = snapshot_variables(source)
        store.pair(pair).save_snapshot(values, metadata_for(source, i), graph_keys_for(source),
                                       build)
        train_steps(source, 1)  # after the snapshot: must not reach the version
        fresh = build_modules(8)
        store.pair(pair).restore(fresh)
        assert _same(snapshot_variables(fresh), values)
    assert len(builds) == 1


def test_save_snapshot_refuses_modules_of_another_architecture(tmp_path):
    """build_modules() must give the snapshot's networks; anything else writes nothing."""
    store = ModelStore(tmp_path)
    source = build_modules(3)
    values = snapshot_variables(source)
    with pytest.raises(ValueError, match=r"build_modules\(\) gave \['encoder'\]"):
        store.pair("A/USDT").save_snapshot(values, metadata_for(source, 1),
                                           graph_keys_for(source),
                                           lambda: {"encoder": source["encoder"]})
    assert store.pair("A/USDT").versions == []


def test_restarted_process_reuses_the_graph_on_disk_unless_it_is_damaged(tmp_path, caplog):
    """A new store object (a new process: no template in memory) writes its first save from
    the pair's previous version on disk; if a graph file there was changed, it says so and
    writes the full SavedModel instead."""
    live = build_modules(4)
    ModelStore(tmp_path).pair("A/USDT").save(live, metadata_for(live, 1), graph_keys_for(live))
    again = ModelStore(tmp_path).pair("A/USDT").save(live, metadata_for(live, 2),
                                                     graph_keys_for(live))
    assert set(again.graphs_reused) == set(live)
    pb = again.path / "liquidity" / "saved_model.pb"
    pb.write_bytes(pb.read_bytes() + b"\0")
    caplog.set_level(logging.WARNING, logger="self_learning.store")
    third = ModelStore(tmp_path).pair("A/USDT").save(live, metadata_for(live, 3),
                                                     graph_keys_for(live))
    assert "liquidity" not in third.graphs_reused and "encoder" in third.graphs_reused
    assert any("Not reusing the graph" in r.getMessage() and "saved_model.pb" in r.getMessage()
               for r in caplog.records)
    loaded = tf.saved_model.load(str(third.path / "liquidity"))
    np.testing.assert_array_equal(loaded.serve(X_ENC[:, :4]).numpy(),
                                  live["liquidity"].serve(X_ENC[:, :4]).numpy())


def test_snapshots_trace_once_per_structure_without_retracing_warnings(caplog):
    """Snapshots of many modules (three structures, several instances each) trace one read
    program per structure, and TensorFlow logs no 'triggered tf.function retracing'."""
    from self_learning.store import snapshot

    caplog.set_level(logging.WARNING)
    sets = [build_modules(seed) for seed in range(6)]
    for modules in sets:
        snapshot_variables(modules)
    programs = {name: snapshot._programs_for(list(module_variables(module).values()))
                for name, module in sets[0].items()}
    counts = {name: p.read.experimental_get_tracing_count() for name, p in programs.items()}
    for modules in sets + [build_modules(7)]:
        snapshot_variables(modules)
    assert counts == {name: 1 for name in programs}
    assert {name: p.read.experimental_get_tracing_count() for name, p in programs.items()} \
        == counts
    assert len({id(p) for p in programs.values()}) == 3
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]
