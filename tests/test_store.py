"""self_learning.store with real TensorFlow modules: save, graph reuse, restore, corruption.

The modules come from tests/store_writer.py: Keras Dense stacks with Dropout, an Adam built
eagerly, extra variables, `train` and `serve` tf.functions, and a state module with a
tf.random.Generator, like the learner's networks.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import shutil
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from self_learning.store import ModelStore, assign_snapshot, snapshot_variables

sys.path.insert(0, str(Path(__file__).parent))
from store_writer import (  # noqa: E402
    PAIR,
    build_modules,
    graph_keys_for,
    metadata_for,
    train_steps,
)
from synthetic import deterministic  # noqa: E402

X_ENC = np.linspace(-1.0, 1.0, 5 * 12, dtype=np.float32).reshape(5, 12)


def _save(pair_store, modules, counter: int, key: str = "g1"):
    return pair_store.save(modules, metadata_for(modules, counter), graph_keys_for(modules, key))


def _assert_same(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].keys() == b[name].keys(), name
        for path in a[name]:
            np.testing.assert_array_equal(a[name][path], b[name][path], err_msg=f"{name}/{path}")


def _restore_fresh(root: Path, caplog):
    """Restore the pair into freshly built modules (other initial weights): the restore's
    result, the modules' variables after it and the store's warnings."""
    caplog.set_level(logging.INFO, logger="self_learning.store")
    fresh = build_modules(9)
    result = ModelStore(root).pair(PAIR).restore(fresh)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return result, snapshot_variables(fresh), warnings


def _files(folder: Path) -> dict[str, int]:
    return {p.relative_to(folder).as_posix(): p.stat().st_size
            for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def modules():
    return build_modules(1)


@pytest.fixture(scope="module")
def template(tmp_path_factory, modules):
    """A store root holding v000001 (full save) and v000002 (graph reused, trained further)."""
    root = tmp_path_factory.mktemp("template") / "self_learning"
    pair_store = ModelStore(root).pair(PAIR)
    train_steps(modules, 2)
    first = _save(pair_store, modules, 2)
    v1 = snapshot_variables(modules)
    out1 = modules["encoder"].serve(X_ENC).numpy()
    train_steps(modules, 3)
    second = _save(pair_store, modules, 5)
    v2 = snapshot_variables(modules)
    out2 = modules["encoder"].serve(X_ENC).numpy()
    assert first.graphs_reused == () and set(second.graphs_reused) == set(modules)
    return {"root": root, "v1": v1, "v2": v2, "out1": out1, "out2": out2}


@pytest.fixture
def store_copy(template, tmp_path):
    """A private copy of the template store; returns (root, pair folder)."""
    root = tmp_path / "self_learning"
    shutil.copytree(template["root"], root)
    return root, root / "BTC_USDT"


def test_restore_then_continue_is_bit_identical(tmp_path):
    """save -> restore into freshly built (differently initialised) modules -> continue
    training gives exactly the weights, optimizer slots, iterations, RNG and dropout states of
    a process that never stopped."""
    deterministic()  # op determinism; the modules seed themselves (build_modules(seed))
    live = build_modules(3)
    train_steps(live, 3)
    pair_store = ModelStore(tmp_path).pair(PAIR)
    _save(pair_store, live, 3)
    train_steps(live, 4)
    uninterrupted = snapshot_variables(live)

    resumed = build_modules(11)
    assert not np.array_equal(resumed["encoder"].serve(X_ENC), live["encoder"].serve(X_ENC))
    result = pair_store.restore(resumed)
    assert result is not None and result.version == 1
    train_steps(resumed, 4)
    _assert_same(snapshot_variables(resumed), uninterrupted)
    assert int(resumed["encoder"].optimizer.iterations.numpy()) == 7


def test_plain_tf_load_serves_the_saved_outputs(store_copy, template):
    """Someone without our package loads each version with tf.saved_model.load: the full save
    (v1) and the graph-reusing save (v2) both serve exactly the module's outputs at that time,
    so the copied graph really carries the newly written variables."""
    _, folder = store_copy
    loaded1 = tf.saved_model.load(str(folder / "v000001" / "encoder"))
    loaded2 = tf.saved_model.load(str(folder / "v000002" / "encoder"))
    np.testing.assert_array_equal(loaded1.serve(X_ENC).numpy(), template["out1"])
    np.testing.assert_array_equal(loaded2.serve(X_ENC).numpy(), template["out2"])
    assert not np.array_equal(template["out1"], template["out2"])
    state = tf.saved_model.load(str(folder / "v000002" / "learner_state"))
    assert int(state.training_counter.numpy()) == 5


def test_every_graph_reusing_save_carries_its_own_values(tmp_path):
    """The first variables-only save of a module writes eagerly, later ones through a traced
    writer: each version, loaded with plain tf.saved_model.load, serves exactly the outputs of
    its moment, and the newest restores every variable exactly."""
    live = build_modules(5)
    pair_store = ModelStore(tmp_path, keep_versions=10).pair(PAIR)
    outputs = []
    for counter in range(4):
        train_steps(live, 1)
        info = _save(pair_store, live, counter)
        outputs.append((info, live["encoder"].serve(X_ENC).numpy()))
    assert [len(i.graphs_reused) for i, _ in outputs] == [0, 3, 3, 3]
    for info, expected in outputs:
        loaded = tf.saved_model.load(str(info.path / "encoder"))
        np.testing.assert_array_equal(loaded.serve(X_ENC).numpy(), expected)
    fresh = build_modules(6)
    assert pair_store.restore(fresh).version == 4
    _assert_same(snapshot_variables(fresh), snapshot_variables(live))


def test_reused_graph_version_restores_every_variable(store_copy, template):
    """A graph-reusing version restores into fresh modules identical to what was saved,
    including Adam slots, iterations, the generator state; its graph files are the copies."""
    root, folder = store_copy
    fresh = build_modules(7)
    result = ModelStore(root).pair(PAIR).restore(fresh)
    assert result.version == 2
    restored = snapshot_variables(fresh)
    _assert_same(restored, template["v2"])
    assert restored["encoder"]["optimizer/_iterations"] == 5
    assert any("momentum" in p or p.startswith("optimizer/_variables") for p in restored["encoder"])
    assert "rng/_state_var" in restored["learner_state"]
    for name in ("saved_model.pb", "fingerprint.pb"):
        assert (folder / "v000001/encoder" / name).read_bytes() == \
            (folder / "v000002/encoder" / name).read_bytes()
    assert result.metadata["encoder"]["graph_reused"] is True


def test_metadata_and_current_pointer(store_copy):
    """Each network's JSON has the required fields (UTC time, versions, checksums of every
    file, the caller's fields), only relative paths; CURRENT names the newest version."""
    root, folder = store_copy
    current = json.loads((folder / "CURRENT").read_text())
    assert current == {"version": 2, "folder": "v000002"}
    for name in ("encoder", "liquidity", "learner_state"):
        text = (folder / "v000002" / f"{name}.json").read_text()
        doc = json.loads(text)
        assert doc["model_name"] == name and doc["training_counter"] == 5
        assert doc["schema_version"] == 1 and doc["model_version"] == "0.1.0"
        assert doc["tensorflow_version"] == tf.__version__ and doc["tensorflow_available"]
        assert dt.datetime.fromisoformat(doc["saved_at"]).utcoffset() == dt.timedelta(0)
        assert doc["features"] == ["f0", "f1", "f2", "f3"]
        assert doc["last_learned_candle"] == "2026-01-02T03:04:00+00:00"
        assert set(doc["files"]) == set(_files(folder / "v000002" / name))
        assert all(len(f["sha256"]) == 64 for f in doc["files"].values())
        assert str(root) not in text and "/tmp" not in text


def test_changed_graph_key_writes_a_full_savedmodel(store_copy, modules):
    """A different graph key means the graph is written again, not copied."""
    root, _ = store_copy
    info = _save(ModelStore(root).pair(PAIR), modules, 6, key="g2")
    assert info.number == 3 and info.graphs_reused == ()


class _Growing(tf.Module):
    def __init__(self):
        super().__init__(name="growing")
        self.a = tf.Variable(tf.ones([3]), name="a")


def test_same_graph_key_with_new_variables_falls_back_to_full_save(tmp_path, caplog):
    """If a module gains variables while the caller keeps its graph key (e.g. an optimizer
    built lazily), the layout check notices, warns, and writes a full SavedModel."""
    caplog.set_level(logging.WARNING, logger="self_learning.store")
    module = _Growing()
    pair_store = ModelStore(tmp_path).pair(PAIR)
    meta = {"net": {"training_counter": 0}}
    pair_store.save({"net": module}, meta, {"net": "k"})
    module.b = tf.Variable(2.0, name="b")
    info = pair_store.save({"net": module}, meta, {"net": "k"})
    assert info.graphs_reused == ()
    assert any("variables differ" in r.getMessage() for r in caplog.records)
    loaded = tf.saved_model.load(str(info.path / "net"))
    assert float(loaded.b.numpy()) == 2.0


def _data_file(folder: Path) -> Path:
    return sorted((folder / "encoder" / "variables").glob("variables.data-*"))[0]


def _truncate(folder):
    path = _data_file(folder)
    path.write_bytes(path.read_bytes()[:-7])
    return "truncated"


def _flip(folder):
    path = folder / "liquidity" / "saved_model.pb"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    return "checksum"


def _remove(folder):
    (folder / "learner_state" / "variables" / "variables.index").unlink()
    return "learner_state/variables/variables.index is missing"


def _schema(folder):
    path = folder / "encoder.json"
    doc = json.loads(path.read_text())
    doc["schema_version"] = 99
    path.write_text(json.dumps(doc))
    return "unknown schema_version 99"


@pytest.mark.parametrize("damage", [_truncate, _flip, _remove, _schema],
                         ids=["truncated", "flipped", "missing", "schema"])
def test_damaged_newest_version_is_skipped_with_one_log_line(store_copy, template, caplog,
                                                             damage):
    """Truncated file, flipped byte, missing file, unknown schema_version: the newest version
    is skipped with ONE warning naming its path and the reason, the previous version is
    restored, and nothing on disk is deleted or changed by the restore."""
    root, folder = store_copy
    reason = damage(folder / "v000002")
    before = _files(folder)
    result, restored, warnings = _restore_fresh(root, caplog)
    assert result is not None and result.version == 1
    _assert_same(restored, template["v1"])
    assert len(warnings) == 1
    assert str(folder / "v000002") in warnings[0] and reason in warnings[0]
    assert _files(folder) == before


def test_a_version_folder_whose_metadata_names_another_version_is_skipped(store_copy, template,
                                                                          caplog):
    """v000001 copied by hand to v000003 (a backup put back under a new name): its files are
    intact, but its metadata says version 1, so restore skips it with a warning and restores
    v000002, the newest version that is what its name says."""
    root, folder = store_copy
    shutil.copytree(folder / "v000001", folder / "v000003")
    result, restored, warnings = _restore_fresh(root, caplog)
    assert result is not None and result.version == 2
    _assert_same(restored, template["v2"])
    assert len(warnings) == 1 and "v000003" in warnings[0] and "says version 1" in warnings[0]


def test_unknown_schema_version_survives_later_saves(store_copy, modules):
    """A version written in a schema this build does not know is never removed by retention."""
    root, folder = store_copy
    _schema(folder / "v000002")
    pair_store = ModelStore(root, keep_versions=1).pair(PAIR)
    for counter in range(3):
        _save(pair_store, modules, 10 + counter)
    assert (folder / "v000002" / "encoder" / "saved_model.pb").exists()
    assert pair_store.versions == [5]


def test_no_usable_version_returns_none_and_keeps_modules(store_copy, caplog):
    """When every version is damaged, restore warns that no saved version is usable and fresh
    models will be started, returns None, and leaves the given modules exactly as they were."""
    root, folder = store_copy
    _flip(folder / "v000001")
    _truncate(folder / "v000002")
    caplog.set_level(logging.INFO, logger="self_learning.store")
    fresh = build_modules(9)
    before = snapshot_variables(fresh)
    assert ModelStore(root).pair(PAIR).restore(fresh) is None
    _assert_same(snapshot_variables(fresh), before)
    messages = [r.getMessage() for r in caplog.records]
    assert sum("Skipping saved version" in m for m in messages) == 2
    assert any(r.levelno == logging.WARNING and "No usable saved version" in r.getMessage()
               and "fresh models will be started" in r.getMessage() for r in caplog.records)


class _WrongState(tf.Module):
    def __init__(self):
        super().__init__(name="learner_state")
        self.training_counter = tf.Variable(tf.constant(0, tf.int64), name="training_counter")
        self.marker = tf.Variable(tf.constant(0, tf.int64), name="marker")
        self.novelty_mean = tf.Variable(tf.zeros([3]), name="novelty_mean")  # wrong shape
        self.rng = tf.random.Generator.from_seed(1)


def test_checkpoint_that_does_not_fit_is_skipped_and_undone(store_copy, caplog):
    """Modules of another architecture: each version is skipped with a reason and variables
    already read are put back, so the modules are unchanged."""
    root, _ = store_copy
    caplog.set_level(logging.INFO, logger="self_learning.store")
    wrong = {"learner_state": _WrongState()}
    before = snapshot_variables(wrong)
    assert ModelStore(root).pair(PAIR).restore(wrong) is None
    _assert_same(snapshot_variables(wrong), before)
    assert sum("does not fit" in r.getMessage() for r in caplog.records) == 2


def test_foreign_files_survive_saves_and_retention(store_copy, modules):
    """Unknown files and folders (even a `vNNNNNN` folder without our metadata, a `vNNNNNN`
    symlink to a copy of one of our versions kept elsewhere, or a temp folder with another
    prefix) survive saves and retention; our own leftover temp folder is cleaned; retention
    keeps exactly the newest K of our versions."""
    root, folder = store_copy
    elsewhere = root.parent / "elsewhere" / "v000001"
    shutil.copytree(folder / "v000001", elsewhere)
    kept_elsewhere = _files(elsewhere)
    (folder / "v000060").symlink_to(elsewhere, target_is_directory=True)
    (folder / "notes.txt").write_text("mine")
    (folder / "backup").mkdir()
    (folder / "backup" / "w.h5").write_bytes(b"x")
    (folder / "v000050").mkdir()
    (folder / "v000050" / "encoder.json").write_text('{"other": "tool"}')
    (folder / ".tmp-other").mkdir()
    (folder / ".tmp-self_learning-v000003-deadbeef0000" / "encoder").mkdir(parents=True)
    pair_store = ModelStore(root, keep_versions=2).pair(PAIR)
    for counter in range(4):
        info = _save(pair_store, modules, 20 + counter)
    assert info.number == 54
    assert pair_store.versions == [53, 54] and pair_store.latest == 54
    assert (folder / "notes.txt").read_text() == "mine"
    assert (folder / "backup" / "w.h5").exists() and (folder / ".tmp-other").is_dir()
    assert (folder / "v000050" / "encoder.json").exists()
    assert not (folder / ".tmp-self_learning-v000003-deadbeef0000").exists()
    assert (folder / "v000060").is_symlink() and _files(elsewhere) == kept_elsewhere
    assert sorted(p.name for p in folder.iterdir()) == [
        ".tmp-other", "CURRENT", "backup", "notes.txt", "v000050", "v000053", "v000054",
        "v000060"]


def test_concurrent_saves_of_one_pair_are_serialised(store_copy, modules):
    """Two threads saving the same pair through two store objects never collide: every save
    gets its own version and all of them restore."""
    root, folder = store_copy
    errors, infos = [], []

    def worker():
        pair_store = ModelStore(root, keep_versions=20).pair(PAIR)
        try:
            for counter in range(3):
                infos.append(_save(pair_store, modules, counter))
        except Exception as err:  # noqa: BLE001 - reported by the assert below
            errors.append(err)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(i.number for i in infos) == [3, 4, 5, 6, 7, 8]
    assert not any(p.name.startswith(".tmp-") for p in folder.iterdir())
    assert ModelStore(root).pair(PAIR).restore(build_modules(2)).version == 8


def test_save_checks_arguments_before_writing(tmp_path, modules):
    """Mismatched or reserved metadata is a ValueError naming the problem; nothing is written."""
    pair_store = ModelStore(tmp_path).pair(PAIR)
    keys = graph_keys_for(modules)
    with pytest.raises(ValueError, match="metadata must have exactly the keys"):
        pair_store.save(modules, {"encoder": {"training_counter": 1}}, keys)
    bad = metadata_for(modules, 1)
    bad["encoder"]["saved_at"] = "yesterday"
    with pytest.raises(ValueError, match="reserved by the store"):
        pair_store.save(modules, bad, keys)
    with pytest.raises(ValueError, match="graph_keys"):
        pair_store.save(modules, metadata_for(modules, 1), {**keys, "encoder": ""})
    with pytest.raises(ValueError, match="Network name"):
        pair_store.save({"../x": modules["encoder"]}, {"../x": {"training_counter": 1}},
                        {"../x": "k"})
    assert list(tmp_path.iterdir()) == []


def test_snapshot_assign_round_trip(modules):
    """A snapshot assigned to identically built modules reproduces every variable; a snapshot
    of another architecture is refused before anything is assigned."""
    other = build_modules(4)
    snapshot = snapshot_variables(modules)
    assign_snapshot(other, snapshot)
    _assert_same(snapshot_variables(other), snapshot)
    np.testing.assert_array_equal(other["encoder"].serve(X_ENC), modules["encoder"].serve(X_ENC))
    with pytest.raises(ValueError, match="does not fit"):
        assign_snapshot({"learner_state": _WrongState()},
                        {"learner_state": snapshot["encoder"]})


def test_restore_without_any_version_starts_fresh(tmp_path, caplog):
    """An empty (even missing) pair folder restores nothing, says fresh models will be
    started, and creates no files."""
    caplog.set_level(logging.INFO, logger="self_learning.store")
    pair_store = ModelStore(tmp_path / "none").pair(PAIR)
    assert pair_store.restore({"net": _Growing()}) is None
    assert pair_store.latest is None and pair_store.versions == []
    assert any("fresh models will be started" in r.getMessage() for r in caplog.records)
    assert not (tmp_path / "none").exists()
