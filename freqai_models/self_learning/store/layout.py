"""Names on disk: filesystem-safe pair folders, version folders and the store's own temp names.

Everything here is pure string work plus one containment check, so it can be tested without
touching TensorFlow. A pair name is never used as a path: it is mapped to one folder name made
of `[A-Za-z0-9._-]` that cannot escape the store root.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from pathlib import Path

logger = logging.getLogger(__name__)

CURRENT_FILE = "CURRENT"
TMP_PREFIX = ".tmp-self_learning-"
VERSION_PREFIX = "v"
VERSION_DIGITS = 6
SAVED_MODEL_FILE = "saved_model.pb"
VARIABLES_DIR = "variables"
VARIABLES_PREFIX = "variables/variables"
METADATA_SUFFIX = ".json"

_VERSION_RE = re.compile(r"^v(\d{6})$")
_PLAIN_CHARS = re.compile(r"[A-Za-z0-9.-]")
_NETWORK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_MAX_PAIR_CHARS = 64


def version_dirname(number: int) -> str:
    """`7` -> `v000007`."""
    if not isinstance(number, int) or not 0 < number < 10**VERSION_DIGITS:
        raise ValueError(f"Version number must be an int in 1..999999, got {number!r}")
    return f"{VERSION_PREFIX}{number:0{VERSION_DIGITS}d}"


def parse_version(name: str) -> int | None:
    """`v000007` -> 7; anything else (including `v7`, `v000000`) -> None."""
    match = _VERSION_RE.match(name)
    if match is None or int(match.group(1)) == 0:
        return None
    return int(match.group(1))


def tmp_name(purpose: str) -> str:
    """A fresh name for a temp file/folder; the prefix marks it as ours for later cleanup."""
    return f"{TMP_PREFIX}{purpose}-{uuid.uuid4().hex[:12]}"


def is_tmp_name(name: str) -> bool:
    return name.startswith(TMP_PREFIX)


def check_network_name(name: object) -> str:
    """Module names become folder and file names, so they must be plain."""
    if not isinstance(name, str) or not _NETWORK_NAME.match(name) or name == CURRENT_FILE:
        raise ValueError(
            f"Network name must match {_NETWORK_NAME.pattern} (and not be {CURRENT_FILE!r}), "
            f"got {name!r}"
        )
    return name


def safe_pair_dirname(pair: str) -> str:
    """Map a pair to one folder name made of `[A-Za-z0-9._-]`, unique per pair.

    `/` becomes `_` (`BTC/USDT` -> `BTC_USDT`). When anything else had to change (`_`, `:`,
    spaces, non-ASCII, a leading dot) or the name was shortened, a short hash of the original
    is appended, so two different pairs never share a folder (`BTC/USDT:USDT` ->
    `BTC_USDT_USDT-3f2a9c1b`). Traversal attempts, absolute paths, NUL and control characters
    are refused with a ValueError instead of being rewritten.
    """
    _refuse_unsafe(pair)
    chars = []
    lossy = False
    for char in pair:
        if char == "/":
            chars.append("_")
        elif _PLAIN_CHARS.fullmatch(char):
            chars.append(char)
        else:
            chars.append("_")
            lossy = True
    name = "".join(chars)
    if name.startswith("."):
        name, lossy = "_" + name[1:], True
    if len(name) > _MAX_PAIR_CHARS:
        name, lossy = name[:_MAX_PAIR_CHARS], True
    if lossy:
        name += "-" + hashlib.sha256(pair.encode("utf-8")).hexdigest()[:8]
    return name


def _refuse_unsafe(pair: object) -> None:
    if not isinstance(pair, str) or not pair.strip():
        raise ValueError(f"Pair must be a non-empty string, got {pair!r}")
    problem = None
    if "\x00" in pair:
        problem = "contains a NUL byte"
    elif any(ord(c) < 32 or ord(c) == 127 for c in pair):
        problem = "contains control characters"
    elif pair.startswith(("/", "\\", "~")) or re.match(r"^[A-Za-z]:[\\/]", pair):
        problem = "looks like an absolute path"
    elif any(part in ("..", ".") for part in re.split(r"[\\/]", pair)):
        problem = "contains a '..' or '.' path component"
    if problem:
        logger.error("Refusing pair name %r for the model store: it %s.", pair, problem)
        raise ValueError(f"Refusing pair name {pair!r} for the model store: it {problem}")


def pair_dir(root: Path, pair: str) -> Path:
    """The pair's folder inside `root`; raises ValueError when it would not sit directly in it."""
    folder = Path(root) / safe_pair_dirname(pair)
    if folder.resolve(strict=False).parent != Path(root).resolve(strict=False):
        raise ValueError(f"Pair {pair!r} would escape the model store root {root}")
    return folder
