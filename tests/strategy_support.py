"""The project's strategy file loaded as a module, as freqtrade's resolver does (by path)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

# A flat candle's prices, for hand-made strategy frames (freqtrade's always carry OHLCV; the
# entry record reads them).
FLAT_PRICES = {"open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0}

STRATEGY_FILE = Path(__file__).resolve().parents[1] / "user_data" / "strategies" / \
    "SelfLearningStrategy.py"


def load_strategy_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("SelfLearningStrategy", STRATEGY_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
