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


XLA_SINGLE_THREAD_FLAG = "--xla_cpu_multi_thread_eigen=false"


def configure_tensorflow_threads() -> None:
    """One intra-op and one inter-op TensorFlow thread, unless the user set
    TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS, and XLA's compiled online step without
    its multi-threaded Eigen pool (XLA_FLAGS gets --xla_cpu_multi_thread_eigen=false unless it
    names it; XLA still runs the step's kernels on TF's one intra-op thread).

    Our networks are small: per-op scheduling and thread hand-offs, not arithmetic, dominate.
    One thread each was measured 1.4-1.9x faster per candle on 2 cores (benchmarks/online.py
    --tf-threads) while leaving the other core to freqtrade; XLA without its Eigen pool cut
    one candle's compiled step from 3.5 to 2.6 ms. Must run before TensorFlow's runtime and
    XLA start; later it is a no-op."""
    import os

    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        os.environ["XLA_FLAGS"] = f"{flags} {XLA_SINGLE_THREAD_FLAG}".strip()

    import tensorflow as tf

    try:
        if "TF_NUM_INTRAOP_THREADS" not in os.environ:
            tf.config.threading.set_intra_op_parallelism_threads(1)
        if "TF_NUM_INTEROP_THREADS" not in os.environ:
            tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised by someone else: keep its settings
        pass
