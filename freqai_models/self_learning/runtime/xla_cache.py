"""XLA's persistent compilation cache: the compiled programs (the online step, the fits' epoch
programs) kept on disk between processes, so a backtest, a bot restart or the next backtest of
the same network shape loads them (~0.1 s) instead of compiling them again (~3-7 s each).

TensorFlow keys each program by a fingerprint of its XLA graph (not of XLA_FLAGS: see
cache_folder) and checks the graph when it loads one, so a changed network, feature count or
setting compiles (and stores) anew; results are bit-identical either way (the same
executable). It writes each file under a temporary name and renames it, so processes may share
the folder.

Where: $SELF_LEARNING_XLA_CACHE, else $XDG_CACHE_HOME/self_learning/xla (~/.cache/...), one
folder per TensorFlow version and XLA_FLAGS (cache_folder); `SELF_LEARNING_XLA_CACHE=off` turns
it off, and a TF_XLA_FLAGS naming --tf_xla_persistent_cache_directory wins. TensorFlow fails a
call whose stored program does not parse, so such files are removed at start, and the folder is
kept under MAX_BYTES by removing the least recently written programs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import MutableMapping
from pathlib import Path

logger = logging.getLogger(__name__)

ENV = "SELF_LEARNING_XLA_CACHE"
OFF = ("off", "0", "false", "no", "none", "")
FLAG = "--tf_xla_persistent_cache_directory"
PATTERN = "xla_compile_cache__*"
MAX_BYTES = 512 * 2**20  # ~100-200 network shapes' programs (1-3 MB each)
STALE_TMP_S = 3600  # a temporary file this old is left by a process that died writing it


def cache_folder(env: MutableMapping[str, str], tf_version: str) -> Path | None:
    """The folder for this TensorFlow version and XLA_FLAGS, None when turned off.

    TensorFlow's key of a stored program leaves out XLA's compile options (XLA_FLAGS, which
    runtime_env sets): a program compiled under other flags would load and compute the same
    operations with other code (other last bits), so each set of flags has its own folder."""
    value = env.get(ENV)
    if value is not None and value.strip().lower() in OFF:
        return None
    if value:
        base = Path(value).expanduser()
    else:
        home = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        base = Path(home) / "self_learning" / "xla"
    flags = " ".join(sorted(env.get("XLA_FLAGS", "").split()))
    suffix = f"-{hashlib.sha256(flags.encode()).hexdigest()[:8]}" if flags else ""
    return base / f"tf-{tf_version}{suffix}"


def configure_xla_cache(env: MutableMapping[str, str] | None = None) -> Path | None:
    """Point TensorFlow's XLA cache at cache_folder (before the first XLA compile of the
    process; later it has no effect) after tidying it; the folder, or None when off, set by
    the user's TF_XLA_FLAGS or not writable (said once in the log, learning is unchanged)."""
    env = os.environ if env is None else env
    flags = env.get("TF_XLA_FLAGS", "")
    if FLAG.lstrip("-") in flags:
        return None
    import tensorflow as tf

    folder = cache_folder(env, tf.__version__)
    if folder is None:
        return None
    if any(c.isspace() for c in str(folder)):
        logger.warning(f"XLA cache off: TF_XLA_FLAGS cannot name a folder with spaces "
                       f"({folder}); set {ENV} to another folder")
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"{folder} is not writable")
        tidy(folder)
    except OSError as err:
        logger.warning(f"XLA cache off ({err}): every process compiles its programs; set "
                       f"{ENV} to a writable folder or to 'off'")
        return None
    env["TF_XLA_FLAGS"] = f"{flags} {FLAG}={folder}".strip()
    logger.info(f"Compiled XLA programs are cached in {folder} ({ENV}=off turns it off)")
    return folder


def tidy(folder: Path, max_bytes: int = MAX_BYTES, now: float | None = None) -> list[Path]:
    """Remove the cache's files that do not parse, temporary files of dead writers and, over
    `max_bytes`, the least recently written programs; returns what was removed. Only files
    named as TensorFlow names its cache files are touched."""
    now = time.time() if now is None else now
    removed = []
    kept = []
    for path in folder.glob(PATTERN):
        stat = path.stat()
        if path.suffix == ".tmp":
            if now - stat.st_mtime > STALE_TMP_S:
                removed.append(path)
        elif path.suffix == ".pb" and (stat.st_size == 0 or not parses(path)):
            removed.append(path)
        elif path.suffix == ".pb":
            kept.append((stat.st_mtime, stat.st_size, path))
    total = sum(size for _, size, _ in kept)
    for _, size, path in sorted(kept):
        if total <= max_bytes:
            break
        removed.append(path)
        total -= size
    for path in removed:
        path.unlink(missing_ok=True)
    if removed:
        logger.info(f"XLA cache {folder}: removed {len(removed)} unreadable, stale or oldest "
                    "files")
    return removed


def parses(path: Path) -> bool:
    """Whether the file is a well-formed protocol buffer (a truncated or overwritten one is
    not); the message type is TensorFlow's, so its fields are read as unknown ones."""
    from google.protobuf import empty_pb2
    from google.protobuf.message import DecodeError

    try:
        empty_pb2.Empty().ParseFromString(path.read_bytes())
    except (DecodeError, OSError):
        return False
    return True
