"""Optional dependency checks, done lazily so the bot starts even without TensorFlow."""

from __future__ import annotations

import importlib.util

TF_MISSING_MESSAGE = (
    "SelfLearningModel: TensorFlow is not installed, so no model can be trained or loaded and "
    "no trade will be opened on its signals (do_predict = 0). Install it into freqtrade's "
    "environment with `pip install tensorflow-cpu==2.21.*` (or `make install`) and restart."
)


def tensorflow_available() -> bool:
    return importlib.util.find_spec("tensorflow") is not None
