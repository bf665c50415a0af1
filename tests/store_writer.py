"""Test helper for the store tests: small modules shaped like the learner's, and a writer.

`build_modules(seed)` returns `{"encoder", "liquidity", "learner_state"}`: Keras Dense stacks
(with Dropout, whose seed state is a variable too), an Adam optimizer built eagerly, extra
variables (`marker` = the builder's seed, input scaling), a `train` tf.function and a
`serve` tf.function with an input signature; the state module has counters and a
tf.random.Generator, no `serve`.

Run as a script it is the writer process of the kill test: it imports TensorFlow once (the
slow part), prints `ready`, then for each stdin line `save <seed> <graph_key>` forks a child
that builds fresh modules, prints `start <pid>` right before `PairStore.save` and
`done <pid> <ms> <version>` after it. After the next stdin line (`reap`) the parent collects
the child and prints `exit <pid> <status>`, so the test can SIGKILL the child at any moment of
the save (a child that already finished is a zombie until reaped: its pid is never reused).
`save <seed> <graph_key> <point>` instead makes the child SIGKILL itself at a named point
(`publish_dir:after`, see CRASH_POINTS), to hit the few-millisecond windows deterministically.
Forking happens before any TensorFlow op runs in the parent process, which keeps the
children's thread pools sane.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import keras
import tensorflow as tf

PAIR = "BTC/USDT"
NAMES = ("encoder", "liquidity", "learner_state")


class TestNetwork(tf.Module):
    def __init__(self, input_dim: int, hidden: int, output_dim: int, seed: int, name: str,
                 marker: int):
        super().__init__(name=name)
        keras.utils.set_random_seed(seed)
        self.model = keras.Sequential([
            keras.Input((input_dim,)),
            keras.layers.Dense(hidden, activation="gelu"),
            keras.layers.Dropout(0.1, seed=seed),
            keras.layers.Dense(hidden, activation="gelu"),
            keras.layers.Dense(output_dim),
        ], name=f"{name}_model")
        self.optimizer = keras.optimizers.Adam(learning_rate=1e-2)
        self.optimizer.build(self.model.trainable_variables)
        # Keras 3 keeps a Dropout's SeedGenerator state out of the object graph: reference it
        # here, or saving a traced `train` fails and a checkpoint would not carry that state.
        self.seed_states = [layer.seed_generator.state for layer in self.model.layers
                            if getattr(layer, "seed_generator", None) is not None]
        self.input_scale = tf.Variable(tf.ones([input_dim]), trainable=False, name="input_scale")
        self.marker = tf.Variable(tf.constant(marker, tf.int64), trainable=False, name="marker")
        self.serve = tf.function(
            self._serve, input_signature=[tf.TensorSpec([None, input_dim], tf.float32)]
        )
        self.train = tf.function(self._train)

    def _serve(self, x):
        return self.model(x * self.input_scale, training=False)

    def _train(self, x, y):
        with tf.GradientTape() as tape:
            pred = self.model(x * self.input_scale, training=True)
            loss = tf.reduce_mean(tf.square(pred - y))
        grads = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables, strict=True))
        return loss


class TestState(tf.Module):
    def __init__(self, seed: int):
        super().__init__(name="learner_state")
        self.training_counter = tf.Variable(tf.constant(0, tf.int64), name="training_counter")
        self.marker = tf.Variable(tf.constant(seed, tf.int64), trainable=False, name="marker")
        self.novelty_mean = tf.Variable(0.0, name="novelty_mean")
        self.rng = tf.random.Generator.from_seed(seed)


def build_modules(seed: int = 0) -> dict[str, tf.Module]:
    return {
        "encoder": TestNetwork(12, 16, 4, seed, "encoder", marker=seed),
        "liquidity": TestNetwork(4, 8, 2, seed + 1, "liquidity", marker=seed),
        "learner_state": TestState(seed),
    }


def train_steps(modules: dict[str, tf.Module], steps: int) -> None:
    """Deterministic given the modules' state: data come from the state module's generator."""
    state = modules["learner_state"]
    for _ in range(steps):
        x = state.rng.normal([32, 12])
        y = tf.stack([tf.reduce_mean(x[:, :6], 1), tf.reduce_max(x, 1)] * 2, axis=1)
        modules["encoder"].train(x, y)
        modules["liquidity"].train(x[:, :4], y[:, :2])
        state.novelty_mean.assign(0.9 * state.novelty_mean + 0.1 * tf.reduce_mean(x))
        state.training_counter.assign_add(1)


def metadata_for(modules: dict[str, tf.Module], counter: int) -> dict[str, dict]:
    return {
        name: {
            "training_counter": counter,
            "features": [f"f{i}" for i in range(4)],
            "input_shapes": [[None, 12]] if name == "encoder" else [[None, 4]],
            "last_learned_candle": "2026-01-02T03:04:00+00:00",
        }
        for name in modules
    }


def graph_keys_for(modules: dict[str, tf.Module], key: str = "g1") -> dict[str, str]:
    return {name: f"{name}-{key}" for name in modules}


# (module, function) of the store that a crash point wraps; `before`/`after` the call.
CRASH_POINTS = {
    "sync_tree": ("self_learning.store.pair_store", "sync_tree"),
    "publish_dir": ("self_learning.store.pair_store", "publish_dir"),
    "replace_json_atomic": ("self_learning.store.pair_store", "replace_json_atomic"),
    "os.replace": ("self_learning.store.atomic", "os.replace"),
    "remove_dir_atomic": ("self_learning.store.cleanup", "remove_dir_atomic"),
    "shutil.rmtree": ("self_learning.store.atomic", "shutil.rmtree"),
    # the same, only for a version retention has renamed away (its `-delete-` temp folder):
    # the window between the rename and the removal, which timed kills rarely hit
    "retention_rmtree": ("self_learning.store.atomic", "shutil.rmtree"),
}
ONLY_FOR = {"retention_rmtree": "-delete-"}  # crash only when the first argument contains it


def _install_crash(point: str) -> None:
    """Wrap one store function so the process SIGKILLs itself before or after the call."""
    import importlib
    import signal

    name, when = point.split(":")
    module_name, attr = CRASH_POINTS[name]
    owner = importlib.import_module(module_name)
    if "." in attr:  # a stdlib module used by the store module: patch the function on it
        holder_name, attr = attr.split(".")
        owner = getattr(owner, holder_name)
    original = getattr(owner, attr)

    def wrapped(*args, **kwargs):
        if name in ONLY_FOR and ONLY_FOR[name] not in str(args[0] if args else ""):
            return original(*args, **kwargs)
        if when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        result = original(*args, **kwargs)
        os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(owner, attr, wrapped)


def _child(root: Path, keep: int, seed: int, key: str, point: str | None) -> None:
    from self_learning.store import ModelStore

    if point:
        _install_crash(point)
    modules = build_modules(seed)
    pair_store = ModelStore(root, keep_versions=keep).pair(PAIR)
    print(f"start {os.getpid()}", flush=True)
    start = time.perf_counter()
    info = pair_store.save(modules, metadata_for(modules, seed), graph_keys_for(modules, key))
    print(f"done {os.getpid()} {(time.perf_counter() - start) * 1e3:.2f} {info.number}",
          flush=True)


def main(root: Path, keep: int) -> None:
    from self_learning.store import ModelStore  # noqa: F401 - import everything before forking

    print("ready", flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                _child(root, keep, int(parts[1]), parts[2], parts[3] if len(parts) > 3 else None)
            except BaseException as err:  # report, never fall back into the parent's loop
                print(f"error {type(err).__name__}: {err}", flush=True)
                code = 1
            finally:
                os._exit(code)
        sys.stdin.readline()  # "reap": until then a finished child stays a zombie, so its
        _, status = os.waitpid(pid, 0)  # pid cannot be reused before the test's SIGKILL
        print(f"exit {pid} {status}", flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
