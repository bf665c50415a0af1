"""Optional dependency checks, so the bot starts (and refuses to trade) without TensorFlow."""

from __future__ import annotations

TF_MISSING_MESSAGE = (
    "SelfLearningModel: TensorFlow is not installed, so no model can be trained or loaded and "
    "no trade will be opened on its signals (do_predict = 0). Install it into freqtrade's "
    "environment with `pip install tensorflow-cpu==2.21.*` (or `make install`) and restart."
)


def tensorflow_available() -> bool:
    """True when `import tensorflow` works (a broken install counts as missing)."""
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return False
    return True
