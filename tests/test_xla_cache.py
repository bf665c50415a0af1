"""XLA's persistent compilation cache (self_learning.runtime.xla_cache): a program compiled in
one process is loaded by the next, with the same results; a stored program that does not parse
(which would fail TensorFlow's call) is removed at start; the folder stays bounded; the user's
own setting wins and `off` turns it off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from self_learning.runtime import xla_cache

# One process: configure the cache from the environment, run a small XLA-compiled function.
CHILD = """
import json, sys
from self_learning.runtime.xla_cache import configure_xla_cache
import tensorflow as tf
folder = configure_xla_cache()
f = tf.function(lambda x: tf.reduce_sum(tf.sin(x) * tf.exp(x / 3.0)), jit_compile=True)
out = f(tf.linspace(0.0, 5.0, 97)).numpy()
print(json.dumps({"folder": str(folder), "out": out.tobytes().hex()}))
"""


def child(cache: Path) -> dict:
    env = {**os.environ, xla_cache.ENV: str(cache), "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_XLA_FLAGS", None)
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def programs(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("xla_compile_cache__*.pb")}


def test_a_program_compiled_once_is_loaded_by_the_next_process_and_a_broken_one_dropped(
        tmp_path):
    first = child(tmp_path)
    folder = Path(first["folder"])
    assert folder.parent == tmp_path and folder.name.startswith("tf-")
    stored = programs(folder)
    assert len(stored) == 1

    second = child(tmp_path)
    assert second["out"] == first["out"]
    assert programs(folder) == stored  # loaded, not compiled and written again

    (path,) = folder.glob("xla_compile_cache__*.pb")
    path.write_bytes(path.read_bytes()[:1000])  # a truncated program fails TensorFlow's call
    third = child(tmp_path)
    assert third["out"] == first["out"]
    assert path.stat().st_size > 1000  # removed at start, compiled and stored anew


def write(path: Path, data: bytes, mtime: float) -> Path:
    path.write_bytes(data)
    os.utime(path, (mtime, mtime))
    return path


def test_tidy_keeps_the_folder_bounded_and_touches_only_cache_files(tmp_path):
    good = bytes.fromhex("0a03616263")  # field 1, 3 bytes: a well-formed message
    old = write(tmp_path / "xla_compile_cache__1__1__XLA_CPU_JIT.pb", good * 40, 1_000)
    new = write(tmp_path / "xla_compile_cache__2__2__XLA_CPU_JIT.pb", good * 40, 2_000)
    broken = write(tmp_path / "xla_compile_cache__3__3__XLA_CPU_JIT.pb", good[:3], 3_000)
    empty = write(tmp_path / "xla_compile_cache__4__4__XLA_CPU_JIT.pb", b"", 3_000)
    dead = write(tmp_path / "xla_compile_cache__5__5__XLA_CPU_JIT.pbvm-1.tmp", b"x", 1_000)
    live = write(tmp_path / "xla_compile_cache__6__6__XLA_CPU_JIT.pbvm-2.tmp", b"x", 9_000)
    other = write(tmp_path / "notes.pb", b"\xff", 1_000)

    removed = xla_cache.tidy(tmp_path, max_bytes=300, now=10_000)

    assert set(removed) == {old, broken, empty, dead}  # 400 bytes of programs > 300: oldest
    assert new.exists() and live.exists() and other.exists()


def test_the_folder_comes_from_the_environment_and_the_users_flag_wins(tmp_path):
    assert xla_cache.cache_folder({xla_cache.ENV: "off"}, "2.21.0") is None
    assert xla_cache.cache_folder({xla_cache.ENV: str(tmp_path)}, "2.21.0") == \
        tmp_path / "tf-2.21.0"
    assert xla_cache.cache_folder({"XDG_CACHE_HOME": str(tmp_path)}, "2.21.0") == \
        tmp_path / "self_learning" / "xla" / "tf-2.21.0"
    # XLA's compile options are not in TensorFlow's key of a program: a folder per XLA_FLAGS
    flagged = [xla_cache.cache_folder({xla_cache.ENV: str(tmp_path), "XLA_FLAGS": flags},
                                      "2.21.0")
               for flags in ("--a=1 --b=2", " --b=2  --a=1", "--a=2")]
    assert flagged[0] == flagged[1] != flagged[2]
    assert flagged[0].parent == tmp_path and flagged[0].name.startswith("tf-2.21.0-")

    env = {xla_cache.ENV: str(tmp_path), "TF_XLA_FLAGS": "--tf_xla_auto_jit=0"}
    folder = xla_cache.configure_xla_cache(env)
    assert env["TF_XLA_FLAGS"] == f"--tf_xla_auto_jit=0 {xla_cache.FLAG}={folder}"
    mine = {xla_cache.ENV: str(tmp_path), "TF_XLA_FLAGS": f"{xla_cache.FLAG}=/elsewhere"}
    assert xla_cache.configure_xla_cache(mine) is None
    assert mine["TF_XLA_FLAGS"] == f"{xla_cache.FLAG}=/elsewhere"
    off = {xla_cache.ENV: "off"}
    assert xla_cache.configure_xla_cache(off) is None and "TF_XLA_FLAGS" not in off


def test_an_unusable_folder_turns_the_cache_off(tmp_path):
    (tmp_path / "cache").write_text("a file where the folder should be")
    env = {xla_cache.ENV: str(tmp_path / "cache")}
    assert xla_cache.configure_xla_cache(env) is None
    assert "TF_XLA_FLAGS" not in env
