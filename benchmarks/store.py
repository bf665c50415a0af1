"""Benchmark of self_learning.store: save (first / subsequent), blocking snapshot, load.

    cd /work/main && .venv/bin/python benchmarks/store.py [--pairs 3] [--saves 20]

Per pair: the first save (full SavedModels), then `--saves` subsequent saves that reuse the
graphs (only the variables are rewritten), each preceded by a few training steps so the
values change. The blocking part is `snapshot_variables` under the learner's lock (what the
lifecycle's writer thread does before `PairStore.save_snapshot`, which writes the snapshot's
variables into the graph template; copies of the modules are built only for a full save).
save_call = `save_snapshot` alone; save_total = snapshot + save_snapshot. Load =
`PairStore.restore` into freshly built modules.
Prints a table, then one JSON line (last line) with the p50 figures.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from self_learning.store import ModelStore, assign_snapshot, snapshot_variables

WINDOW_DIM, LATENT, FEATURES = 96, 8, 60


class BenchNetwork(tf.Module):
    """A Keras model, an eagerly built Adam, scaling variables, `serve` and `train`."""

    def __init__(self, model: keras.Model, input_dim: int, output_dim: int, name: str):
        super().__init__(name=name)
        self.model = model
        self.input_mean = tf.Variable(tf.zeros([input_dim]), trainable=False, name="input_mean")
        self.input_std = tf.Variable(tf.ones([input_dim]), trainable=False, name="input_std")
        self.output_scale = tf.Variable(tf.ones([output_dim]), trainable=False, name="out_scale")
        self.optimizer = keras.optimizers.Adam(learning_rate=1e-3, clipnorm=1.0)
        self.optimizer.build(model.trainable_variables)
        spec = tf.TensorSpec([None, input_dim], tf.float32)
        self.serve = tf.function(self._serve, input_signature=[spec])
        self.train = tf.function(self._train, input_signature=[
            spec, tf.TensorSpec([None, output_dim], tf.float32)])

    def _serve(self, x):
        return self.model((x - self.input_mean) / self.input_std, training=False)

    def _train(self, x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(self._serve(x) - y))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
        return loss


class BenchState(tf.Module):
    def __init__(self, seed: int):
        super().__init__(name="learner_state")
        self.training_counter = tf.Variable(tf.constant(0, tf.int64), name="training_counter")
        self.last_learned_ts = tf.Variable(tf.constant(-1, tf.int64), name="last_learned_ts")
        self.novelty_mean = tf.Variable(0.0, name="novelty_mean")
        self.novelty_var = tf.Variable(1.0, name="novelty_var")
        self.replay = tf.Variable(tf.zeros([512, WINDOW_DIM]), name="replay_windows")
        self.rng = tf.random.Generator.from_seed(seed)


def _mlp(input_dim: int, layers: list[int], output_dim: int, name: str,
         gate: bool = False) -> keras.Model:
    inputs = keras.Input((input_dim,))
    x = inputs
    if gate:
        gate_logits = keras.layers.Dense(input_dim, activation="sigmoid", name="gate")(x)
        x = keras.layers.Multiply()([x, gate_logits])
    for units in layers:
        x = keras.layers.Dense(units, activation="gelu")(x)
    return keras.Model(inputs, keras.layers.Dense(output_dim)(x), name=name)


def build_benchmark_modules(seed: int = 0) -> dict[str, tf.Module]:
    """Modules sized like the learner's networks (replace with the real ones when ready)."""
    keras.utils.set_random_seed(seed)
    return {
        "encoder": BenchNetwork(_mlp(WINDOW_DIM, [64], LATENT, "enc"), WINDOW_DIM, LATENT,
                                "encoder"),
        "decoder": BenchNetwork(_mlp(LATENT, [64], WINDOW_DIM, "dec"), LATENT, WINDOW_DIM,
                                "decoder"),
        "feature_discovery": BenchNetwork(
            _mlp(FEATURES + LATENT, [64, 64], 1, "disc", gate=True), FEATURES + LATENT, 1,
            "feature_discovery"),
        "liquidity": BenchNetwork(_mlp(FEATURES + LATENT, [64, 64], 2, "liq"),
                                  FEATURES + LATENT, 2, "liquidity"),
        "learner_state": BenchState(seed),
    }


def _train(modules: dict[str, tf.Module], rng: np.random.Generator, steps: int = 2) -> None:
    for _ in range(steps):
        for name, module in modules.items():
            if name == "learner_state":
                module.training_counter.assign_add(1)
                continue
            dim_in = module.input_mean.shape[0]
            dim_out = module.output_scale.shape[0]
            module.train(rng.normal(size=(64, dim_in)).astype(np.float32),
                         rng.normal(size=(64, dim_out)).astype(np.float32))


def _metadata(modules, counter: int) -> dict[str, dict]:
    return {name: {"training_counter": counter, "features": [f"f{i}" for i in range(FEATURES)],
                   "input_shapes": [], "last_learned_candle": None} for name in modules}


def bench_pair(root: Path, pair: str, saves: int, seed: int) -> dict[str, float]:
    store = ModelStore(root, keep_versions=3)
    pair_store = store.pair(pair)
    live = build_benchmark_modules(seed)
    shadow = build_benchmark_modules(seed)  # receives the snapshot only for a full save
    keys = {name: f"{name}-bench-v1" for name in live}
    rng = np.random.default_rng(seed)
    _train(live, rng)
    first = pair_store.save(live, _metadata(live, 0), keys).duration_ms
    blocking, saving, total = [], [], []
    for i in range(saves):
        _train(live, rng)
        start = time.perf_counter()
        snapshot = snapshot_variables(live)
        blocked = time.perf_counter()
        pair_store.save_snapshot(snapshot, _metadata(shadow, i + 1), keys,
                                 lambda s=snapshot: (assign_snapshot(shadow, s), shadow)[1])
        done = time.perf_counter()
        blocking.append((blocked - start) * 1e3)
        saving.append((done - blocked) * 1e3)
        total.append((done - start) * 1e3)
    loads = []
    for _ in range(5):
        fresh = build_benchmark_modules(seed + 1)
        start = time.perf_counter()
        assert pair_store.restore(fresh) is not None
        loads.append((time.perf_counter() - start) * 1e3)
    check = build_benchmark_modules(seed + 2)
    pair_store.restore(check)
    x = np.ones((4, WINDOW_DIM), np.float32)
    assert np.array_equal(check["encoder"].serve(x).numpy(), live["encoder"].serve(x).numpy())
    return {
        "first_save_ms": first,
        "save_blocking_ms": statistics.median(blocking),
        "save_call_ms": statistics.median(saving),
        "save_total_ms": statistics.median(total),
        "save_total_ms_max": max(total),
        "load_ms": statistics.median(loads),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--saves", type=int, default=20)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pairs = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "ADA/USDT"]
    pairs = (pairs * (args.pairs // len(pairs) + 1))[: args.pairs]
    rows = {}
    with tempfile.TemporaryDirectory(prefix="store-bench-") as tmp:
        for i, pair in enumerate(pairs):
            rows[f"{pair}#{i}"] = bench_pair(Path(tmp), f"{pair}{'' if i < 5 else i}",
                                             args.saves, seed=i)
    cols = list(next(iter(rows.values())))
    print(f"{'pair':<14}" + "".join(f"{c:>20}" for c in cols))
    for pair, row in rows.items():
        print(f"{pair:<14}" + "".join(f"{row[c]:>20.1f}" for c in cols))
    p50 = {f"{c}_p50": round(statistics.median(r[c] for r in rows.values()), 2) for c in cols}
    p50.update(pairs=args.pairs, saves_per_pair=args.saves, networks=5,
               tensorflow=tf.__version__, load_average_1m=round(os.getloadavg()[0], 2),
               cpus=os.cpu_count())
    print(json.dumps(p50))


if __name__ == "__main__":
    main()
