"""Start-up checks of the whole freqtrade config, run by the strategy and the model at load.

* Types: every key read here or in `config.py` must have the right type before anything is
  compared or computed with it (`config_types.py`); a wrong one is a refusal naming the key.
* API secrets: with `api_server.enabled`, a password, JWT secret or websocket token still at a
  `CHANGE-ME` placeholder (what config.json ships), at a default freqtrade documents, shorter
  than a minimum, or (password) one of the most common passwords or the username is refused in
  live trading and whenever the API listens beyond loopback; a dry-run on loopback starts with
  one prominent warning.
* The training window: `freqai.train_period_days` must hold enough candles for a first
  training: `window_candles - 1` candles before the first full window, `label_period_candles`
  after the last sample, and MIN_FIT_SAMPLES samples between them.
* `freqai.continual_learning: false` with SelfLearningModel: ignored (the model always goes on
  from its previous training and its store), so one warning naming the key.
* FreqAI's feature-pipeline and data-split keys this model cannot honour
  (`IGNORED_FREQAI_KEYS`: PCA, training noise, sample weights, the test split and its order):
  one warning per key that is set, naming it and what the model does instead. FreqAI's outlier
  detectors (SVM, DI, DBSCAN) are honoured (candles/outliers.py).
* freqtrade's analysers (`lookahead-analysis`, `recursive-analysis`, run mode
  `util_no_exchange`) with more than one whitelisted pair, where a pair's columns depend on
  the other pairs (the strategy's market features, the model's statistics pooled across
  pairs): lookahead-analysis re-runs each trade with its pair alone, so the other pairs'
  absence would be reported as look-ahead bias; recursive-analysis checks only the first pair.

`check_startup` is a pure function of the config dict returning a `Verdict`; `enforce` logs
its warnings (once per process) and raises for its refusals. No freqtrade import: run modes
are compared by their value (`RunMode.DRY_RUN.value == "dry_run"`), and callers pass the
timeframe in seconds and the exception type to raise.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from self_learning.candles.samples import MIN_FIT_SAMPLES
from self_learning.config import (
    ConfigError,
    SelfLearningConfig,
    label_period_candles,
    parse_config,
)
from self_learning.config_types import wrong_types

logger = logging.getLogger(__name__)

PLACEHOLDER = "CHANGE-ME"
MIN_PASSWORD_LENGTH = 6      # freqtrade's `new-config` asks for at least 6 characters
MIN_JWT_SECRET_LENGTH = 32   # freqtrade's config schema: api_server.jwt_secret_key minLength
# The keys freqtrade's webserver warns about ("seems to be default"); the first is its own
# default when the key is absent, the schema's default is the last.
FREQTRADE_DEFAULT_JWT_KEYS = ("super-secret", "somethingrandom",
                              "somethingRandomSomethingRandom123")
MIN_WS_TOKEN_LENGTH = 16    # the websocket token grants API access like a login
# freqtrade's documentation example token (docs/rest-api.md).
FREQTRADE_DEFAULT_WS_TOKENS = ("secret_ws_t0ken.",)
# The most common passwords of leaked-password lists, and the names of this bot: refused
# beyond loopback and in live trading whatever their length (compared case-insensitively).
COMMON_PASSWORDS = frozenset((
    "password", "password1", "passw0rd", "123456", "1234567", "12345678", "123456789",
    "1234567890", "111111", "000000", "123123", "654321", "qwerty", "qwerty123", "abc123",
    "letmein", "welcome", "admin", "administrator", "changeme", "secret", "iloveyou",
    "monkey", "dragon", "trader", "freqtrade", "freqtrader", "freqai", "selflearning",
))
SECRET_KEYS = ("api_server.password", "api_server.jwt_secret_key", "api_server.ws_token")
SERVING_MODES = ("live", "dry_run", "webserver")  # run modes that start the API server
ANALYSIS_MODE = "util_no_exchange"  # freqtrade's lookahead- and recursive-analysis
DAY_S = 86_400
_warned: set[str] = set()


@dataclass(frozen=True)
class Verdict:
    refusals: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def run_mode(config: dict[str, Any]) -> str | None:
    """freqtrade's run mode as its string value ("backtest", "dry_run", ...): the config
    holds a RunMode enum when freqtrade built it and a string in tests and plain dicts."""
    runmode = config.get("runmode")
    return getattr(runmode, "value", runmode)


def weak_api_secrets(api: dict[str, Any]) -> list[str]:
    """One phrase per weak password or secret of the `api_server` section, naming its key."""
    found = []
    password = str(api.get("password") or "")
    if not password:  # e.g. .env.example's FREQTRADE__API_SERVER__PASSWORD= left empty
        found.append("api_server.password is empty")
    elif PLACEHOLDER.lower() in password.lower():
        found.append(f"api_server.password is still the {PLACEHOLDER} placeholder")
    elif password.lower() in COMMON_PASSWORDS:
        found.append("api_server.password is one of the most common passwords")
    elif len(password) < MIN_PASSWORD_LENGTH:
        found.append(f"api_server.password is shorter than {MIN_PASSWORD_LENGTH} characters "
                     "(freqtrade's minimum)")
    elif password == str(api.get("username") or ""):
        found.append("api_server.password is the username")
    jwt = str(api.get("jwt_secret_key") or "")
    if not jwt:
        found.append("api_server.jwt_secret_key is empty")
    elif PLACEHOLDER.lower() in jwt.lower():
        found.append(f"api_server.jwt_secret_key is still the {PLACEHOLDER} placeholder")
    elif jwt in FREQTRADE_DEFAULT_JWT_KEYS:
        found.append("api_server.jwt_secret_key is freqtrade's documented default")
    elif len(jwt) < MIN_JWT_SECRET_LENGTH:
        found.append(f"api_server.jwt_secret_key is shorter than {MIN_JWT_SECRET_LENGTH} "
                     "characters (freqtrade's minimum)")
    tokens = api.get("ws_token") or []
    tokens = [tokens] if isinstance(tokens, str) else list(tokens)
    found.extend(_weak_ws_tokens([str(token) for token in tokens]))
    return found


def _weak_ws_tokens(tokens: list[str]) -> list[str]:
    """The websocket token(s) open the API's message stream without a login: checked like the
    JWT secret."""
    if any(PLACEHOLDER.lower() in token.lower() for token in tokens):
        return [f"api_server.ws_token is still the {PLACEHOLDER} placeholder"]
    if any(token in FREQTRADE_DEFAULT_WS_TOKENS for token in tokens):
        return ["api_server.ws_token is freqtrade's documented example"]
    if any(token.lower() in COMMON_PASSWORDS for token in tokens):
        return ["api_server.ws_token is one of the most common passwords"]
    if any(len(token) < MIN_WS_TOKEN_LENGTH for token in tokens):
        return [f"api_server.ws_token is shorter than {MIN_WS_TOKEN_LENGTH} characters"]
    return []


def _loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def api_secrets_verdict(config: dict[str, Any]) -> Verdict:
    """Refuse weak secrets in live trading or beyond loopback; warn on a loopback dry-run."""
    api = config.get("api_server") or {}
    mode = run_mode(config)
    if not api.get("enabled") or mode not in SERVING_MODES:
        return Verdict()
    weak = weak_api_secrets(api)
    if not weak:
        return Verdict()
    address = str(api.get("listen_ip_address", ""))
    where = f"{address}:{api.get('listen_port', '')}"
    problems = "; ".join(weak)
    fix = ("Set real values in your config file (e.g. `python -c \"import secrets; "
           "print(secrets.token_urlsafe(32))\"` for each) or through freqtrade's environment "
           "variables FREQTRADE__API_SERVER__PASSWORD, FREQTRADE__API_SERVER__JWT_SECRET_KEY "
           "and FREQTRADE__API_SERVER__WS_TOKEN, or set api_server.enabled to false.")
    if mode == "live" or not _loopback(address):
        reason = ("this is live trading" if mode == "live"
                  else f"api_server.listen_ip_address {address} is reachable beyond loopback")
        return Verdict(refusals=(
            f"Refusing to start: {problems}, and {reason} (API server enabled on {where}). "
            f"{fix}",))
    return Verdict(warnings=(
        f"SECURITY WARNING - {problems}: anyone who can reach {where} on this machine can log "
        "into the bot's API with them. This dry-run starts anyway; live trading or an API "
        f"listening beyond 127.0.0.1 would be refused. {fix}",))


def training_window_error(freqai: dict[str, Any], cfg: SelfLearningConfig,
                          timeframe_s: int) -> str | None:
    """Why `train_period_days` is too short for a first training with our section `cfg`
    (parsed from `freqai`), or None."""
    buffer = int(freqai["feature_parameters"].get("buffer_train_data_candles", 0) or 0)
    days = freqai.get("train_period_days", 0)
    available = int(days * DAY_S // timeframe_s) - 2 * buffer
    window, horizon = cfg.window_candles, cfg.label_period_candles
    needed = window - 1 + horizon + MIN_FIT_SAMPLES
    if available >= needed:
        return None
    min_days = math.ceil((needed + 2 * buffer) * timeframe_s / DAY_S)
    cut = f" minus 2 x buffer_train_data_candles ({buffer})" if buffer else ""
    return (
        f"freqai.train_period_days ({days}) gives {available} candles of {timeframe_s} s per "
        f"training window{cut}, but a first training needs at least {needed}: "
        f"freqai.self_learning.window_candles ({window}) - 1 candles before the first full "
        f"window, freqai.feature_parameters.label_period_candles ({horizon}) candles after "
        f"the last sample, and {MIN_FIT_SAMPLES} samples. Set train_period_days to at least "
        f"{min_days} (more on a market with closed hours, whose filled candles are not "
        "learned), or lower window_candles or label_period_candles."
    )


def analysis_pairs_error(config: dict[str, Any], market_features: bool,
                         pooled: bool) -> str | None:
    """Why freqtrade's bias analysers would mislead on this whitelist, or None: more than one
    pair while a pair's columns depend on the others (the strategy's `market_features`, the
    model's statistics `pooled` across pairs). freqtrade 2026.9's lookahead-analysis backtests
    every pair together, then re-runs each trade's backtest, cut after it, with that pair
    alone: the cut run's predictions differ by the missing pairs, not by the future (cut with
    both pairs, a backtest predicts every candle bit-identically to the full run)."""
    pairs = list((config.get("exchange") or {}).get("pair_whitelist") or [])
    causes = []
    if market_features:
        causes.append("SelfLearningStrategy's market features (the whitelist's basket)")
    if pooled:
        causes.append("SelfLearningModel's statistics pooled across pairs "
                      "(freqai.self_learning.shared_across_pairs)")
    if run_mode(config) != ANALYSIS_MODE or not causes or len(pairs) < 2:
        return None
    return (
        f"freqtrade's lookahead-analysis and recursive-analysis need one pair here, but "
        f"exchange.pair_whitelist has {len(pairs)} ({', '.join(map(str, pairs))}). "
        "lookahead-analysis re-runs each trade's backtest with that trade's pair alone, and "
        f"{' and '.join(causes)} change with the pairs, so it would report look-ahead bias "
        "that is none; recursive-analysis checks only the first pair anyway. Run it once per "
        f"pair: add `-p {pairs[0]}` to the command (README, \"Look-ahead and recursive bias\")."
    )


CONTINUAL_LEARNING_IGNORED = (
    "freqai.continual_learning is false, but SelfLearningModel always goes on from its previous "
    "training and its store: every FreqAI retrain after the first is an incremental update, as "
    "with true, so the setting is ignored. To start a model from scratch, give freqai.identifier "
    "a new name.")


FREQAI_TEST_SIZE = 0.1  # FreqAI's test_size when the key is absent
KEEPS_TIME_ORDER = ("SelfLearningModel learns the training window in time order (its networks "
                    "stop early on the newest 10% of the samples)")
# FreqAI key -> (is it set, in the `freqai` section?, the warning). Read by FreqAI's own models,
# not by this one: a user's FreqAI config would otherwise change nothing without a word.
IGNORED_FREQAI_KEYS: dict[str, tuple[Callable[[dict[str, Any]], bool], str]] = {
    "feature_parameters.principal_component_analysis": (
        lambda f: bool(_params(f).get("principal_component_analysis")),
        "freqai.feature_parameters.principal_component_analysis is true, but SelfLearningModel's "
        "networks and ridge learn from the strategy's features as they are, not from FreqAI's "
        "principal components, so the key is ignored (the outlier detectors, when on, see the "
        "scaled features without PCA). Set it to false to silence this."),
    "feature_parameters.noise_standard_deviation": (
        lambda f: bool(_params(f).get("noise_standard_deviation")),
        "freqai.feature_parameters.noise_standard_deviation is set, but SelfLearningModel adds no "
        "noise to its training features (its networks learn the features as they are, its "
        "ridge is regularised), so the key is ignored. Set it to 0 to silence this."),
    "feature_parameters.weight_factor": (
        lambda f: bool(_params(f).get("weight_factor")),
        "freqai.feature_parameters.weight_factor is set, but SelfLearningModel weighs recent "
        "candles by its own decayed memory (freqai.self_learning.memory_candles, the half-life "
        "of what its ridge has learned) and learns each matured candle, so the key is ignored. "
        "Set it to 0 to silence this; lower memory_candles to favour recent candles more."),
    "feature_parameters.shuffle_after_split": (
        lambda f: bool(_params(f).get("shuffle_after_split")),
        f"freqai.feature_parameters.shuffle_after_split is true, but {KEEPS_TIME_ORDER}, so the "
        "key is ignored. Set it to false to silence this."),
    "feature_parameters.reverse_train_test_order": (
        lambda f: bool(_params(f).get("reverse_train_test_order")),
        f"freqai.feature_parameters.reverse_train_test_order is true, but {KEEPS_TIME_ORDER}, so "
        "the key is ignored. Set it to false to silence this."),
    "data_split_parameters.test_size": (
        lambda f: _split(f).get("test_size", FREQAI_TEST_SIZE) != FREQAI_TEST_SIZE,
        f"freqai.data_split_parameters.test_size is not FreqAI's default {FREQAI_TEST_SIZE}, but "
        "SelfLearningModel learns from every candle of the training window (its networks stop "
        "early on the newest 10% of the samples whatever the key, and it is scored "
        "prequentially, on each candle before learning it), so the key is ignored. Remove it "
        f"or set it to {FREQAI_TEST_SIZE} to silence this."),
    "data_split_parameters.shuffle": (
        lambda f: bool(_split(f).get("shuffle")),
        f"freqai.data_split_parameters.shuffle is true, but {KEEPS_TIME_ORDER}, so the key is "
        "ignored. Set it to false to silence this."),
}


def _params(freqai: dict[str, Any]) -> dict[str, Any]:
    return freqai.get("feature_parameters") or {}


def _split(freqai: dict[str, Any]) -> dict[str, Any]:
    return freqai.get("data_split_parameters") or {}


def ignored_freqai_keys(freqai: dict[str, Any]) -> tuple[str, ...]:
    """The warning of each key of IGNORED_FREQAI_KEYS that `freqai` sets."""
    return tuple(message for is_set, message in IGNORED_FREQAI_KEYS.values() if is_set(freqai))


def check_startup(config: dict[str, Any], timeframe_s: int, model: bool = True,
                  market_features: bool = False) -> Verdict:
    """Every start-up check: API secrets, and with FreqAI enabled the label period, (for
    SelfLearningModel, `model`) the training window, our config section, an ignored
    `continual_learning: false` and FreqAI keys it ignores, and the bias analysers' pairs
    (`market_features`: the strategy's columns read the whole whitelist)."""
    wrong = wrong_types(config, SECRET_KEYS)
    if wrong:
        return Verdict(refusals=(f"Wrong type in the config: {'; '.join(wrong)}. Fix it in "
                                 "your config file.",))
    verdict = api_secrets_verdict(config)
    freqai = config.get("freqai") or {}
    if not freqai.get("enabled"):
        return verdict
    try:
        label_period_candles(freqai)
        cfg = parse_config(freqai) if model else None
        problem = training_window_error(freqai, cfg, timeframe_s) if cfg else None
        pooled = cfg is not None and cfg.shared_across_pairs
        problem = problem or analysis_pairs_error(config, market_features, pooled)
    except ConfigError as err:
        problem = str(err)
    refusals = verdict.refusals + ((problem,) if problem else ())
    ignored = model and freqai.get("continual_learning", True) is False
    warnings = ((CONTINUAL_LEARNING_IGNORED,) if ignored else ()) + (
        ignored_freqai_keys(freqai) if model else ())
    return Verdict(refusals, verdict.warnings + warnings)


def enforce(config: dict[str, Any], timeframe_s: int, error: type[Exception],
            model: bool = True, market_features: bool = False) -> None:
    """Log `check_startup`'s warnings (each once per process) and raise `error` for its
    refusals."""
    verdict = check_startup(config, timeframe_s, model, market_features)
    for warning in verdict.warnings:
        if warning not in _warned:
            _warned.add(warning)
            logger.warning(warning)
    if verdict.refusals:
        raise error(" ".join(verdict.refusals))


def load_config(freqai_info: dict[str, Any], error: type[Exception]) -> SelfLearningConfig:
    """Our config section, parsed once; `error` (freqtrade's OperationalException) names the
    bad key."""
    try:
        return parse_config(freqai_info)
    except ConfigError as err:
        raise error(f"{err}. Fix it in your config file.") from None
