"""The REST API (FreqUI) of a bot the offline tools start on 127.0.0.1: its secrets, generated
per run and handed over as freqtrade's FREQTRADE__API_SERVER__* environment variables (never
a file), and its non-secret settings as a config overlay. Used by `make dry-run`
(scripts/dry_run.py) and the upgrade drill (benchmarks/upgrade_drill.py)."""

from __future__ import annotations

import secrets

USERNAME = "freqtrader"
ENV_PREFIX = "FREQTRADE__API_SERVER__"
PASSWORD_ENV = f"{ENV_PREFIX}PASSWORD"


def api_secrets() -> dict[str, str]:
    """The bot's API secrets for this run, as freqtrade environment variables."""
    # Each starts with a letter: freqtrade's environment parser would turn a value made of
    # digits only into a number.
    return {PASSWORD_ENV: "p" + secrets.token_urlsafe(12),
            f"{ENV_PREFIX}JWT_SECRET_KEY": "j" + secrets.token_hex(32),
            f"{ENV_PREFIX}WS_TOKEN": "w" + secrets.token_urlsafe(25)}


def api_overlay(api_port: int) -> dict:
    """The API server's non-secret settings (the secrets come from the environment)."""
    return {"api_server": {"enabled": True, "listen_ip_address": "127.0.0.1",
                           "listen_port": api_port, "username": USERNAME}}
