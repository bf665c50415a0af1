"""How the project installs and is configured where freqtrade users run it: the dependency
set resolves for the Docker image's Python on x86_64 and aarch64 (from PyPI), the shipped
configs use no key freqtrade's schema calls deprecated, freqtrade finds the strategy once, and
Docker's secrets come from the git-ignored .env."""

from __future__ import annotations

import copy
import json
import os
import secrets
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from freqtrade.config_schema.config_schema import CONF_SCHEMA
from freqtrade.configuration.environment_vars import environment_vars_to_dict
from freqtrade.misc import deep_merge_dicts
from packaging.specifiers import SpecifierSet

from self_learning.startup_checks import api_secrets_verdict

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ["config.json", "config.replay.json", "config.docker.json", "config.5m.json"]


@pytest.mark.registry
def test_dependencies_resolve_for_the_docker_python_on_x86_64_and_aarch64():
    """scripts/check_deps.py resolves pyproject's dependencies for the Dockerfile's Python on
    both architectures: TensorFlow's CPU build for each, no GPU-only nvidia-* package."""
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "check_deps.py")],
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    targets = {t["arch"]: t for t in summary["targets"]}
    assert summary["ok"] and set(targets) == {"x86_64", "aarch64"}
    assert targets["x86_64"]["tensorflow"] == {"tensorflow-cpu": "2.21.0"}
    assert targets["aarch64"]["tensorflow"] == {"tensorflow": "2.21.0"}
    assert {t["python"] for t in targets.values()} == {_dockerfile_python()}


def test_requires_python_admits_the_docker_python():
    """pip refuses a package whose requires-python excludes the interpreter ("requires a
    different Python"): the image's Python must be admitted."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert SpecifierSet(project["requires-python"]).contains(f"{_dockerfile_python()}.0")


def _dockerfile_python() -> str:
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        if line.startswith("ARG PYTHON_VERSION="):
            return line.split("=", 1)[1].strip()
    raise AssertionError("Dockerfile has no ARG PYTHON_VERSION")


def _deprecated_keys(config: dict, schema: dict, path: str = "") -> list[str]:
    """Keys of `config` whose schema description says deprecated, walking $refs."""
    if "$ref" in schema:
        schema = CONF_SCHEMA["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    found = []
    for key, value in config.items():
        sub = schema.get("properties", {}).get(key)
        if sub is None:
            continue
        name = f"{path}{key}"
        if "deprecated" in str(sub.get("description", "")).lower():
            found.append(name)
        if isinstance(value, dict):
            found += _deprecated_keys(value, sub, f"{name}.")
    return found


def test_shipped_configs_use_no_deprecated_key():
    """e.g. exchange.key is deprecated in favour of exchange.api_key (freqtrade's schema)."""
    assert _deprecated_keys({"exchange": {"key": ""}}, CONF_SCHEMA) == ["exchange.key"]
    for name in CONFIGS:
        config = json.loads((ROOT / name).read_text())
        assert _deprecated_keys(config, CONF_SCHEMA) == [], name


def test_list_strategies_finds_the_strategy_once():
    """No `strategy_path` repeating user_data_dir/strategies: freqtrade would list the same
    file twice as DUPLICATE NAME (the real CLI, the shipped config)."""
    run = subprocess.run([sys.executable, "-m", "freqtrade", "list-strategies", "-1",
                          "-c", "config.json"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["SelfLearningStrategy"]


def _env_example(fill: bool) -> dict[str, str]:
    """The FREQTRADE__* variables of .env.example (commented ones too), filled if asked."""
    env = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        name, sep, value = line.lstrip("# ").partition("=")
        if sep and name.startswith("FREQTRADE__"):
            env[name] = value or (secrets.token_hex(24) if fill else "")
    return env


def test_docker_secrets_come_from_the_git_ignored_env_file(monkeypatch):
    """compose reads .env (git ignores it); every variable of .env.example is a key of
    freqtrade's schema; filled in, they replace config.json's CHANGE-ME placeholders so the
    container's API on 0.0.0.0 may start; left empty, the bot refuses, naming the key."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert compose["services"]["freqtrade"]["env_file"] == ".env"
    ignored = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=ROOT)
    assert ignored.returncode == 0
    base = deep_merge_dicts(json.loads((ROOT / "config.docker.json").read_text()),
                            json.loads((ROOT / "config.json").read_text()))
    for fill in (True, False):
        for name in list(os.environ):
            if name.startswith("FREQTRADE__"):
                monkeypatch.delenv(name)
        for name, value in _env_example(fill).items():
            monkeypatch.setenv(name, value)
        from_env = environment_vars_to_dict()
        for section, keys in from_env.items():
            props = CONF_SCHEMA["properties"][section]
            props = CONF_SCHEMA["definitions"].get(section, props).get("properties", {})
            assert set(keys) <= set(props), (section, keys)
        config = {**deep_merge_dicts(from_env, copy.deepcopy(base)), "runmode": "dry_run"}
        verdict = api_secrets_verdict(config)
        if fill:
            assert verdict.refusals == () and verdict.warnings == ()
        else:
            assert verdict.refusals and "api_server.password" in verdict.refusals[0]
