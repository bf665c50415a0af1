"""Crash-safe file primitives: fsync, checksums, atomic replace and atomic directory publish.

The rule everywhere: write under a temp name, flush it to disk (file *and* directory entries),
then make it visible with one `os.replace`/`os.rename`, then fsync the parent directory so the
rename itself survives a power cut.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from self_learning.store.layout import tmp_name

_CHUNK = 1 << 20
# fsync releases the GIL; a few at once lets the filesystem batch them into one journal commit.
# One pool for the process: threads made per save would each cost a malloc arena over time.
_FSYNC_THREADS = 4
_POOL: ThreadPoolExecutor | None = None
_POOL_GUARD = threading.Lock()


def _fsync_pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_GUARD:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_FSYNC_THREADS,
                                       thread_name_prefix="self-learning-fsync")
        return _POOL


def fsync_path(path: Path) -> None:
    """fsync one file or directory by path."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_many(paths: Iterable[Path]) -> None:
    """fsync several paths concurrently (the order does not matter before the publish rename)."""
    paths = list(paths)
    if len(paths) <= 2:
        for path in paths:
            fsync_path(path)
        return
    list(_fsync_pool().map(fsync_path, paths))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def list_files(folder: Path) -> list[str]:
    """Relative POSIX paths of every regular file below `folder`, sorted (string joins: a
    save lists its folders ~10 times, and Path objects cost more than the walk)."""
    root = os.fspath(folder)
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = dirpath[len(root):].lstrip(os.sep).replace(os.sep, "/")
        found.extend(f"{rel}/{name}" if rel else name for name in filenames)
    return sorted(found)


def list_dirs(folder: Path) -> list[Path]:
    """`folder` and every directory below it."""
    return [Path(dirpath) for dirpath, _, _ in os.walk(folder)]


def checksum_tree(folder: Path) -> dict[str, dict[str, Any]]:
    """`{relative path: {"sha256": ..., "bytes": ...}}` for every file below `folder`."""
    return {
        rel: {"sha256": sha256_file(folder / rel), "bytes": (folder / rel).stat().st_size}
        for rel in list_files(folder)
    }


def sync_tree(folder: Path) -> None:
    """fsync every file and directory below (and including) `folder`."""
    fsync_many([folder / rel for rel in list_files(folder)] + list_dirs(folder))


def copy_file(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def write_json(path: Path, document: Any) -> None:
    """Write JSON (not atomic on its own; used inside a temp folder that is published later)."""
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def replace_json_atomic(path: Path, document: Any) -> None:
    """Atomically replace `path` with JSON: temp file, fsync, os.replace, fsync directory."""
    tmp = path.parent / tmp_name(path.name)
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    fsync_path(path.parent)


def publish_dir(tmp: Path, final: Path) -> None:
    """Make a fully synced temp folder visible under its final name, atomically."""
    if final.exists():
        raise FileExistsError(f"Refusing to overwrite existing {final}")
    os.rename(tmp, final)
    fsync_path(final.parent)


def remove_dir_atomic(folder: Path) -> None:
    """Remove a folder so that a crash never leaves it half-deleted under its own name:
    rename it to a temp name first (cleaned up later if the crash hits during rmtree)."""
    doomed = folder.parent / tmp_name("delete")
    os.rename(folder, doomed)
    fsync_path(folder.parent)
    shutil.rmtree(doomed)
