"""Types of the freqtrade config keys the start-up checks read outside our own section.

`freqai.self_learning` is checked key by key in `config.py`; the keys of the wider freqtrade
config that `startup_checks.py` and `config.py` read (the API server's secrets and address,
FreqAI's training window) are checked here, before any comparison or arithmetic on them, so
`"train_period_days": "5"` is an error naming the key instead of a TypeError. Pure: a config
dict in, one message per wrong value out. Absent keys are not errors here (their defaults or
their own checks apply).
"""

from __future__ import annotations

from typing import Any

# (path, kinds, what the value must be). Kinds: "bool", "int", "number", "str", "str_or_list",
# "object". Parents come before their children, a parent of the wrong type hides them.
EXPECTED_TYPES: tuple[tuple[str, str], ...] = (
    ("api_server", "object"),
    ("api_server.enabled", "bool"),
    ("api_server.listen_ip_address", "str"),
    ("api_server.listen_port", "int"),
    ("api_server.username", "str"),
    ("api_server.password", "str"),
    ("api_server.jwt_secret_key", "str"),
    ("api_server.ws_token", "str_or_list"),
    ("freqai", "object"),
    ("freqai.enabled", "bool"),
    ("freqai.train_period_days", "number"),
    ("freqai.feature_parameters", "object"),
    ("freqai.feature_parameters.buffer_train_data_candles", "int"),
    ("freqai.feature_parameters.label_period_candles", "int"),
    ("freqai.self_learning", "object"),
)

_MUST_BE = {
    "bool": "true or false",
    "int": "a whole number",
    "number": "a number",
    "str": "a string",
    "str_or_list": "a string or a list of strings",
    "object": "an object ({...})",
}
_MISSING = object()


def _fits(value: Any, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "str":
        return isinstance(value, str)
    if kind == "str_or_list":
        return isinstance(value, str) or (
            isinstance(value, list) and all(isinstance(item, str) for item in value))
    return isinstance(value, dict)


def _lookup(config: dict[str, Any], path: str) -> Any:
    value: Any = config
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _shown(value: Any) -> str:
    if isinstance(value, str):
        hint = ""
        if value.strip().lstrip("-").replace(".", "", 1).isdigit():
            hint = f", write {value.strip()} without quotes"
        elif value.strip().lower() in ("true", "false"):
            hint = f", write {value.strip().lower()} without quotes"
        return f"the string {value!r}{hint}"
    if value is None:
        return "null"
    return f"{value!r} ({type(value).__name__})"


def wrong_types(config: dict[str, Any], secret_paths: tuple[str, ...] = ()) -> list[str]:
    """One message per present key of EXPECTED_TYPES whose value has the wrong type, naming
    the key (a key in `secret_paths` is named, its value never shown)."""
    found: list[str] = []
    hidden: list[str] = []
    for path, kind in EXPECTED_TYPES:
        if any(path.startswith(parent + ".") for parent in hidden):
            continue
        value = _lookup(config, path)
        if value is _MISSING or _fits(value, kind) or (value is None and kind.startswith("str")):
            continue
        hidden.append(path)
        shown = (f"a value of type {type(value).__name__}" if path in secret_paths
                 else _shown(value))
        found.append(f"{path} must be {_MUST_BE[kind]}, got {shown}")
    return found
