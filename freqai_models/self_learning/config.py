"""The `freqai.self_learning` config section, parsed once into a frozen dataclass.

Every key of our section is optional; a present key with a bad value is an error that names
the key, so a typo or a wrong type stops the bot at start-up instead of surfacing hours later
in a retrain. `freqai.feature_parameters.label_period_candles` (the horizon of the targets,
read by the strategy too) has no default: without it the model and the strategy refuse to
start with an error naming it. FreqAI's `freqai.model_training_parameters` (the settings of
its LightGBM/XGBoost/PyTorch models) must be empty: the model does not read it, so a value
there is refused with an error naming its keys instead of being silently ignored.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, fields
from typing import Any

SECTION = "self_learning"


class ConfigError(ValueError):
    """A bad value in the `freqai.self_learning` section (the message names the key)."""


@dataclass(frozen=True)
class SelfLearningConfig:
    window_candles: int = 32
    latent_dim: int = 8
    hidden_units: int = 64
    epochs: int = 30
    patience: int = 5
    incremental_epochs: int = 3
    batch_size: int = 256
    learning_rate: float = 1e-3
    replay_size: int = 2048
    replay_batch: int = 8
    online_learning: bool = True
    prequential_backtest: bool = True
    shared_across_pairs: bool = True
    memory_candles: int = 576
    huber_delta: float = 0.5
    deep_head: bool = False
    use_latent: bool = True
    quality_weighting: bool = False
    online_step: float = 0.02
    wide_online_step: float = 0.0
    scoreboard_candles: int = 288
    drift_response: bool = True
    drift_response_z: float = 0.5
    drift_challenge: bool = True
    drift_delta: float = 0.05
    drift_threshold: float = 100.0
    drift_forget: float = 0.1
    drift_recovery_candles: int = 864
    save_interval: int = 100
    keep_versions: int = 3
    slow_save_warning_s: float = 1.0
    shutdown_timeout_s: float = 30.0
    seed: int = 42
    # Backtests, hyperopt and analyses start from the live store (read only) instead of fresh.
    backtest_from_live_model: bool = False
    # Telemetry (h5): the scoreboard of every pair as a notification every N hours, 0 = off.
    scoreboard_summary_hours: float = 0.0
    # A pair's drift alarm is notified at most once per N hours of candles (0 = every alarm);
    # every alarm is logged, and drift responses are always notified. A week: a pair that
    # alarms without a response alarms about once a day (generated change scenarios, 5m).
    drift_notify_hours: float = 168.0
    # Serve `&-s_close` on the scale of the strategy's own `&-s_close` label (its training std
    # over the in-sample predictions' std) instead of the calibrated expected return, for
    # strategies that threshold the label's scale (freqtrade's FreqaiExampleStrategy: 1 %).
    label_scale: bool = False
    # Taken from freqai.feature_parameters, not from our section (required there).
    label_period_candles: int = 12


_BOUNDS: dict[str, tuple[float, float]] = {
    "window_candles": (4, 512),
    "latent_dim": (1, 128),
    "hidden_units": (4, 1024),
    "epochs": (1, 1000),
    "patience": (1, 1000),
    "incremental_epochs": (1, 100),
    "batch_size": (1, 65536),
    "learning_rate": (1e-6, 1.0),
    "replay_size": (16, 1_000_000),
    "replay_batch": (0, 1024),
    "memory_candles": (12, 10_000_000),
    "huber_delta": (0.01, 100.0),
    "online_step": (0.0, 1.0),
    "wide_online_step": (0.0, 1.0),
    "scoreboard_candles": (10, 100_000),
    "drift_response_z": (0.0, 10.0),
    "drift_delta": (0.0, 100.0),
    "drift_threshold": (0.01, 1e9),
    "drift_forget": (0.0, 1.0),
    "drift_recovery_candles": (1, 10_000_000),
    "save_interval": (1, 1_000_000),
    "keep_versions": (1, 1000),
    "slow_save_warning_s": (0.0, 3600.0),
    "shutdown_timeout_s": (0.1, 3600.0),
    "seed": (0, 2**31 - 1),
    "scoreboard_summary_hours": (0.0, 8760.0),
    "drift_notify_hours": (0.0, 8760.0),
    "label_period_candles": (1, 10_000),
}


def _with_hint(key: str, known: set[str]) -> str:
    """An unknown key with the known one it is probably a typo of, or where it belongs."""
    if key == "label_period_candles":
        return f"{key} (it belongs in freqai.feature_parameters)"
    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f"{key} (did you mean {close[0]}?)" if close else key


def _check_value(key: str, value: Any, default: Any) -> Any:
    name = f"freqai.{SECTION}.{key}"
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be a whole number, got {value!r}")
    elif isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{name} must be a number, got {value!r}")
        value = float(value)
    low, high = _BOUNDS[key]
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low:g} and {high:g}, got {value!r}")
    return value


def parse_config(freqai_section: dict[str, Any]) -> SelfLearningConfig:
    """Build the config from FreqAI's `freqai` dict; raise ConfigError naming a bad key."""
    section = freqai_section.get(SECTION, {})
    if not isinstance(section, dict):
        raise ConfigError(f"freqai.{SECTION} must be an object, got {type(section).__name__}")
    defaults = SelfLearningConfig()
    known = {f.name for f in fields(SelfLearningConfig)} - {"label_period_candles"}
    unknown = sorted(set(section) - known)
    if unknown:
        raise ConfigError(
            f"Unknown key(s) in freqai.{SECTION}: "
            f"{', '.join(_with_hint(key, known) for key in unknown)}. "
            f"Known keys: {', '.join(sorted(known))}"
        )
    values = {key: _check_value(key, section[key], getattr(defaults, key)) for key in section}
    values["label_period_candles"] = label_period_candles(freqai_section)
    _refuse_training_parameters(freqai_section, sorted(known))
    return SelfLearningConfig(**values)


def _refuse_training_parameters(freqai_section: dict[str, Any], known: list[str]) -> None:
    """FreqAI hands `model_training_parameters` to its own models; this one would ignore it."""
    params = freqai_section.get("model_training_parameters") or {}
    if params:
        keys = ", ".join(sorted(params)) if isinstance(params, dict) else repr(params)
        raise ConfigError(
            f"freqai.model_training_parameters ({keys}) is not read by SelfLearningModel: "
            f"its settings are in freqai.{SECTION} ({', '.join(known)}). Move them there or "
            'remove them ("model_training_parameters": {} is fine).'
        )


def label_period_candles(freqai_section: dict[str, Any]) -> int:
    """`freqai.feature_parameters.label_period_candles`, checked; ConfigError if missing."""
    params = freqai_section.get("feature_parameters")
    if not isinstance(params, dict) or "label_period_candles" not in params:
        raise ConfigError(
            "freqai.feature_parameters.label_period_candles is missing: set the horizon of "
            'the targets in candles, e.g. "feature_parameters": {"label_period_candles": 12}'
        )
    try:
        return _check_value("label_period_candles", params["label_period_candles"], 1)
    except ConfigError as err:
        raise ConfigError(
            str(err).replace(f"freqai.{SECTION}.", "freqai.feature_parameters.")
        ) from None
