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


def configure_tensorflow_threads() -> None:
    """One intra-op and one inter-op TensorFlow thread, unless the user set
    TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS.

    Our networks are small: per-op scheduling overhead, not arithmetic, dominates, and one
    thread each was measured 1.4-1.9x faster per candle on 2 cores (benchmarks/online.py
    --tf-threads) while leaving the other core to freqtrade. Must run before TensorFlow's
    runtime starts; later it is a no-op."""
    import os

    import tensorflow as tf

    try:
        if "TF_NUM_INTRAOP_THREADS" not in os.environ:
            tf.config.threading.set_intra_op_parallelism_threads(1)
        if "TF_NUM_INTEROP_THREADS" not in os.environ:
            tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised by someone else: keep its settings
        pass
