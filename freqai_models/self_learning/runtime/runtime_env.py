"""Optional dependency checks, so the bot starts (and refuses to trade) without TensorFlow."""

from __future__ import annotations

TF_MISSING_MESSAGE = (
    "SelfLearningModel: TensorFlow is not installed, so no model can be trained or loaded and "
    "no trade will be opened on its signals (do_predict = 0). Install it into freqtrade's "
    "environment with `pip install tensorflow-cpu==2.21.*` (or `make install`) and restart."
)


def tensorflow_available() -> bool:
    """True when `import tensorflow` works (a broken install counts as missing). A stop
    (Ctrl-C, or freqtrade's SIGTERM, which it turns into KeyboardInterrupt) that lands while a
    pybind11 module of TensorFlow initialises comes out of the import as an ImportError
    ("initialization failed") caused by the interrupt: that is re-raised as the stop, not
    taken for a missing TensorFlow (the bot would run on without a model and the stop be lost)."""
    try:
        import tensorflow  # noqa: F401
    except ImportError as err:
        interrupt = stop_behind(err)
        if interrupt is not None:
            raise interrupt from None
        return False
    return True


def stop_behind(error: BaseException) -> BaseException | None:
    """The KeyboardInterrupt or SystemExit in `error`'s chain of causes and contexts, or None."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        if isinstance(link, (KeyboardInterrupt, SystemExit)):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return None


XLA_SINGLE_THREAD_FLAG = "--xla_cpu_multi_thread_eigen=false"
# XLA's CPU compile options of our programs, each added to XLA_FLAGS unless the user names it:
# the step without the Eigen pool (below), and a cheaper compile: the legacy elemental
# emitters instead of the MLIR fusion emitters, LLVM at -O1 instead of -O2. Measured on the
# per-candle step (5m, 60 features): ~6.8 -> ~4.1 s of compile CPU, the fit's epoch program
# ~1.2 s less, run speed unchanged. The networks' outputs differ in their last bits (other code
# for the same float operations): `&-s_close` is bit-identical on the 1h dev backtests, within
# 6.3e-5 at 5m (through the drift response; docs/benchmark_history.md "First-run cost").
# TensorFlow is pinned to 2.21, whose XLA knows these flags (an unknown one aborts the process).
XLA_DEFAULT_FLAGS = (XLA_SINGLE_THREAD_FLAG, "--xla_cpu_use_fusion_emitters=false",
                     "--xla_backend_optimization_level=1")


def xla_flags(current: str) -> str:
    """`current` XLA_FLAGS with each of XLA_DEFAULT_FLAGS the user did not set appended."""
    named = {f.lstrip("-").split("=")[0] for f in current.split()}
    extra = [f for f in XLA_DEFAULT_FLAGS if f.lstrip("-").split("=")[0] not in named]
    return " ".join([current.strip(), *extra]).strip()


def configure_tensorflow_threads() -> None:
    """One intra-op and one inter-op TensorFlow thread, unless the user set
    TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS, and XLA_FLAGS with XLA_DEFAULT_FLAGS
    (xla_flags): XLA's compiled online step without its multi-threaded Eigen pool (XLA still
    runs the step's kernels on TF's one intra-op thread) and the cheaper compile options.

    Our networks are small: per-op scheduling and thread hand-offs, not arithmetic, dominate.
    One thread each was measured 1.4-1.9x faster per candle on 2 cores (benchmarks/online.py
    --tf-threads) while leaving the other core to freqtrade; XLA without its Eigen pool cut
    one candle's compiled step from 3.5 to 2.6 ms. Must run before TensorFlow's runtime and
    XLA start; later it is a no-op."""
    import os

    os.environ["XLA_FLAGS"] = xla_flags(os.environ.get("XLA_FLAGS", ""))

    import tensorflow as tf

    try:
        if "TF_NUM_INTRAOP_THREADS" not in os.environ:
            tf.config.threading.set_intra_op_parallelism_threads(1)
        if "TF_NUM_INTEROP_THREADS" not in os.environ:
            tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:  # TensorFlow already initialised by someone else: keep its settings
        pass
