"""A live store written before graph templates and run-mode stores keeps loading.

The earlier store wrote, at `<identifier>/self_learning/<PAIR>/`, a full SavedModel as v1 and,
from the second save on, the previous graph files plus a checkpoint from a traced
`tf.train.Checkpoint.write` (two data shards). `old_version` below writes exactly that layout
with the store's own metadata builder. A dry-run's runtime (run_stores' plan) must restore the
newest such version, learn on, and save a version that reuses that old graph, loads with
plain TensorFlow and restores exactly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import tensorflow as tf
from synthetic import FEATURES, TIMEFRAME_S, deterministic, planted_candles, small_config

from self_learning.learning.learner import PairLearner
from self_learning.runtime import lifecycle
from self_learning.runtime.lifecycle import SelfLearningRuntime
from self_learning.runtime.run_stores import live_store, plan_store
from self_learning.store import metadata as meta
from self_learning.store.atomic import checksum_tree, replace_json_atomic, write_json
from self_learning.store.layout import VARIABLES_PREFIX
from self_learning.store.templates import GraphTemplates, variables_layout

PAIR, PAIR_DIR = "BTC/USDT", "BTC_USDT"


def old_version(pair_dir: Path, number: int, learner: PairLearner) -> None:
    """One version as the store before this change wrote it."""
    folder = pair_dir / f"v{number:06d}"
    metadata = learner.metadata()
    for name, module in learner.modules().items():
        dest = folder / name
        if number == 1:
            tf.saved_model.save(module, str(dest))
        else:
            previous = pair_dir / f"v{number - 1:06d}" / name
            shutil.copytree(previous, dest, ignore=shutil.ignore_patterns("variables*"))
            (dest / "variables").mkdir()
            writer = tf.function(tf.train.Checkpoint(root=module).write,
                                 input_signature=[tf.TensorSpec([], tf.string)])
            writer(tf.constant(str(dest / VARIABLES_PREFIX)))
        document = meta.build(
            name, PAIR, number, meta.caller_fields(name, metadata[name]),
            graph_key=learner.graph_key(), graph_reused=number > 1,
            variables_layout=variables_layout(dest), files=checksum_tree(dest))
        write_json(folder / f"{name}.json", document)
    replace_json_atomic(pair_dir / "CURRENT", {"version": number, "folder": folder.name})


def test_a_live_store_of_the_earlier_layout_loads_and_learns_on(tmp_path, monkeypatch):
    """Versions in the earlier layout (v2: two-shard traced checkpoint) restore in a dry-run
    with their counter; the next save reuses their graph and restores exactly."""
    candles = planted_candles(1500, seed=5)
    plan = plan_store(tmp_path / "models" / "self-learning", live_store(tmp_path, "self-learning"),
                      "dry_run", None, None, False)
    pair_dir = plan.root / PAIR_DIR
    pair_dir.mkdir(parents=True)
    deterministic()
    old = PairLearner(small_config(), FEATURES, TIMEFRAME_S)
    old.fit(candles.rows(slice(0, 1000)))
    old_version(pair_dir, 1, old)
    old.fit(candles.rows(slice(0, 1100)))
    old_version(pair_dir, 2, old)
    assert len(list((pair_dir / "v000002" / "encoder" / "variables").glob("*.data-*"))) == 2

    # A process that has not saved these networks yet (no graph template of its own, which
    # would be written instead of the stored graph).
    monkeypatch.setattr(lifecycle, "PROCESS_TEMPLATES", GraphTemplates())
    runtime = SelfLearningRuntime(small_config(), plan.root, TIMEFRAME_S,
                                  background_saves=plan.background_saves)
    report = runtime.fit(PAIR, FEATURES, candles.rows(slice(0, 1200)))
    assert report.mode == "incremental" and report.samples > 0 and report.training_counter == 3
    assert runtime.shutdown()
    info = runtime.store.pair(PAIR)
    assert info.versions == [1, 2, 3]
    newest = pair_dir / "v000003"
    assert (newest / "feature_discovery" / "saved_model.pb").read_bytes() == \
        (pair_dir / "v000001" / "feature_discovery" / "saved_model.pb").read_bytes()
    assert meta.read(newest / "feature_discovery.json")["graph_reused"] is True

    learned = runtime.learners.known(PAIR)
    fresh = PairLearner(small_config(), FEATURES, TIMEFRAME_S)
    assert info.restore(fresh.modules()).version == 3
    for a, b in zip(learned.modules().values(), fresh.modules().values(), strict=True):
        for x, y in zip(a.state_variables(), b.state_variables(), strict=True):
            np.testing.assert_array_equal(x.numpy(), y.numpy())
    state = tf.saved_model.load(str(newest / "learner_state"))
    assert int(state.training_counter.numpy()) == 3
