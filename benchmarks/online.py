"""Benchmark of per-candle online learning (`PairLearner.observe`) and prediction.

    cd /work/main && .venv/bin/python benchmarks/online.py [--pair ETC/BTC] [--candles 300]

One pair of real 5m candles from ../shared/data/binance with ~60 stationary ratio features
computed here (numpy/pandas), the default model config (window 32, latent 8, hidden 64,
replay_batch 8), fitted on 1,500 candles. Then, in this one process:

* update: `observe` with ONE new candle, `--candles` times (p50 / p99 ms; the first calls,
  which trace and compile the step, are a warm-up and not timed), and within it the compiled
  step alone (`step_ms_*`: the fused update of the three networks and the prediction);
* predict: `PairLearner.predict` on one row and the compiled serve path (`predict_one`) (p50);
* prequential: one `observe` over `--block` candles after a warm-up block (candles/s), and its
  ratio to the candle-by-candle throughput of the update measurement;
* telemetry: `SelfLearningRuntime.predict` of one new candle with the adapter's observers,
  TensorBoard writer off / on in alternating blocks (p50 each), and the hook's own cost;
* peak RSS (ru_maxrss) of fresh subprocesses holding 1, 10 and 50 pairs' learners, each
  fitted with 1 epoch on 200 candles and stepped over 30 more, so that its online step is
  in memory too (the first learner compiles it, ~8 s; the others share that program).

Prints a table, then one JSON line (the last line). Timings on a shared machine are noisy:
compare medians and ratios from one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from figures import print_figures

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "binance"
TIMEFRAME_S = 300
PERIODS = (6, 12, 24, 48, 96)
FIT_CANDLES = 1500
WARMUP = 20
REPLACED_DESIGN_UPDATE_MS = 50.0  # the per-candle update of the design this one replaced
RSS_PAIRS = (1, 10, 50)


def ratio_features(df: pd.DataFrame) -> pd.DataFrame:
    """60 stationary ratios: 11 per period in PERIODS, plus 5 single ones."""
    close, high, low, vol = df["close"], df["high"], df["low"], df["volume"]
    ret = close.pct_change()
    out = {}
    for p in PERIODS:
        sma = close.rolling(p).mean()
        std = close.rolling(p).std()
        gain = ret.clip(lower=0).rolling(p).mean()
        loss = (-ret.clip(upper=0)).rolling(p).mean()
        out.update({
            f"roc_{p}": close.pct_change(p),
            f"sma_dist_{p}": close / sma - 1,
            f"ema_dist_{p}": close / close.ewm(span=p, adjust=False).mean() - 1,
            f"ret_std_{p}": ret.rolling(p).std(),
            f"range_{p}": ((high - low) / close).rolling(p).mean(),
            f"rel_volume_{p}": vol / vol.rolling(p).mean(),
            f"rsi_{p}": gain / (gain + loss + 1e-12),
            f"bb_pctb_{p}": (close - sma + 2 * std) / (4 * std + 1e-12),
            f"bb_width_{p}": 4 * std / sma,
            f"max_dist_{p}": high.rolling(p).max() / close - 1,
            f"min_dist_{p}": low.rolling(p).min() / close - 1,
        })
    out.update({
        "pct_change": ret, "hl_range": (high - low) / close, "body": close / df["open"] - 1,
        "upper_wick": high / np.maximum(close, df["open"]) - 1,
        "lower_wick": low / np.minimum(close, df["open"]) - 1,
    })
    return pd.DataFrame(out)


def load_candles(pair: str):
    from self_learning.candles.samples import Candles

    df = pd.read_feather(DATA / f"{pair.replace('/', '_')}-5m.feather")
    feats = ratio_features(df)
    ts = (df["date"].astype("int64") // 10**9).to_numpy(np.int64)
    ohlcv = df[["open", "high", "low", "close", "volume"]].to_numpy(np.float64)
    keep = slice(max(PERIODS), None)  # rows whose features all exist
    return Candles(ts[keep], ohlcv[keep], feats.to_numpy(np.float64)[keep]), list(feats.columns)


def build_learner(names: list[str], **section):
    from self_learning.config import parse_config

    try:
        from self_learning.learning.learner import PairLearner
    except ImportError:  # commits before the learning/ package
        from self_learning.learning.learner import PairLearner

    config = parse_config({"self_learning": section,
                           "feature_parameters": {"label_period_candles": 12}})
    return PairLearner(config, names, TIMEFRAME_S)


def pct(values, q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1e3, q))


def bench_update(learner, candles, start: int, count: int):
    """`observe` of one new candle, `count` times after a warm-up: the whole live path
    (windows and targets from the candle history, the compiled step, the predictions), and
    inside it the compiled step alone (`CompiledPrograms.run`: update of the three networks plus
    the prediction of the new candle). Returns both lists of seconds and candles/s."""
    for i in range(start, start + WARMUP):
        learner.observe(candles.rows(slice(i, i + 1)))
    stepper, run, steps = learner.programs, learner.programs.run, []

    def timed_run(*args):
        t0 = time.perf_counter()
        out = run(*args)
        steps.append(time.perf_counter() - t0)
        return out

    stepper.run = timed_run
    times = []
    began = time.perf_counter()
    try:
        for i in range(start + WARMUP, start + WARMUP + count):
            row = candles.rows(slice(i, i + 1))
            t0 = time.perf_counter()
            learner.observe(row)
            times.append(time.perf_counter() - t0)
    finally:
        del stepper.run  # back to the class's method
    return times, steps, count / (time.perf_counter() - began)


def bench_predict(learner, candles, at: int, count: int = 200) -> tuple[float, float]:
    row = candles.rows(slice(at, at + 1))
    direct = []
    for _ in range(count):
        t0 = time.perf_counter()
        learner.predict(row)
        direct.append(time.perf_counter() - t0)
    serve = learner.programs.predict
    compiled = []
    if serve is not None:
        from self_learning.candles.samples import prepare

        ctx, start = learner.history.with_context(row)  # what PairLearner.predict prepares
        c = learner.config
        s = prepare(ctx, c.window_candles, c.label_period_candles)
        window, feats = s.windows[start:], s.features[start:]
        got = serve(window, feats)
        want = learner.predict(row)
        assert np.allclose(got[:, 0], want.s_close, atol=1e-5), (got, want)
        for _ in range(count):
            t0 = time.perf_counter()
            serve(window, feats)
            compiled.append(time.perf_counter() - t0)
    return pct(direct[10:], 50), pct(compiled[10:], 50) if compiled else float("nan")


def bench_prequential(learner, candles, start: int, block: int) -> float:
    """Throughput of one `observe` over `block` candles (after a warm-up block)."""
    learner.observe(candles.rows(slice(start, start + 50)))
    rows = candles.rows(slice(start + 50, start + 50 + block))
    t0 = time.perf_counter()
    out = learner.observe(rows)
    seconds = time.perf_counter() - t0
    assert len(out.ts) == block and out.learned > 0.9 * block, (len(out.ts), out.learned)
    return block / seconds


def bench_telemetry(names, candles, start: int, count: int, block: int = 25) -> dict:
    """`SelfLearningRuntime.predict` of one new candle (the path FreqAI calls, with the
    observers the adapter attaches), in alternating blocks of `block` candles with and without
    the TensorBoard writer (the Notifier is on in both, as in every bot), so both see the same
    phase of a drifting VM. Also the time the hooks take on the calling thread."""
    import tempfile

    from self_learning.config import parse_config
    from self_learning.runtime.lifecycle import SelfLearningRuntime
    from self_learning.telemetry import Notifier, Observers, TensorBoardWriter

    config = parse_config({"self_learning": {},
                           "feature_parameters": {"label_period_candles": 12}})
    with tempfile.TemporaryDirectory() as tmp:
        runtime = SelfLearningRuntime(config, Path(tmp) / "self_learning", TIMEFRAME_S)
        writer = TensorBoardWriter(Path(tmp) / "tensorboard")
        plain = Observers([Notifier(lambda text: None, ["P"], "dry_run")])
        with_tb = Observers([*plain.observers, writer])
        runtime.fit("P", names, candles.rows(slice(0, FIT_CANDLES)))
        for i in range(start, start + WARMUP):  # compiles the step
            runtime.predict("P", names, candles.rows(slice(i, i + 1)), learn=True)
        runtime.saves.saver.wait_idle(300)  # the first save writes full SavedModels (s of CPU)
        times = {False: [], True: []}
        hooks = []
        timed = with_tb.stepped

        def timed_stepped(pair, p):
            t0 = time.perf_counter()
            timed(pair, p)
            hooks.append(time.perf_counter() - t0)

        with_tb.stepped = timed_stepped
        for k, i in enumerate(range(start + WARMUP, start + WARMUP + count)):
            on = (k // block) % 2 == 1
            runtime.observer = with_tb if on else plain
            t0 = time.perf_counter()
            runtime.predict("P", names, candles.rows(slice(i, i + 1)), learn=True)
            times[on].append(time.perf_counter() - t0)
        runtime.observer = with_tb
        runtime.shutdown()
        files = list((Path(tmp) / "tensorboard").rglob("events.out.tfevents.*"))
        return {"runtime_update_ms_p50_tensorboard_off": round(pct(times[False], 50), 3),
                "runtime_update_ms_p50_tensorboard_on": round(pct(times[True], 50), 3),
                "runtime_update_ms_p99_tensorboard_off": round(pct(times[False], 99), 3),
                "runtime_update_ms_p99_tensorboard_on": round(pct(times[True], 99), 3),
                "tensorboard_hook_us_p50": round(pct(hooks, 50) * 1e3, 1),
                "tensorboard_dropped": writer.dropped,
                "tensorboard_bytes": sum(f.stat().st_size for f in files)}


def rss_child(pairs: int) -> None:
    """Subprocess body: hold `pairs` fitted learners, print peak RSS in MB."""
    candles, names = load_candles("ETC/BTC")
    learners = []
    for k in range(pairs):
        learner = build_learner(names, epochs=1, seed=k)
        learner.fit(candles.rows(slice(0, 200)))
        learner.observe(candles.rows(slice(200, 230)))  # compiles its online step
        learners.append(learner)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def bench_rss() -> dict[str, float]:
    out = {}
    for pairs in RSS_PAIRS:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        res = subprocess.run([sys.executable, __file__, "--rss-child", str(pairs)], env=env,
                             capture_output=True, text=True, check=True)
        out[f"rss_mb_{pairs}"] = round(float(res.stdout.strip().splitlines()[-1]), 1)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pair", default="ETC/BTC")
    parser.add_argument("--candles", type=int, default=300)
    parser.add_argument("--block", type=int, default=2000)
    parser.add_argument("--no-rss", action="store_true")
    parser.add_argument("--no-telemetry", action="store_true",
                        help="skip the runtime path with TensorBoard on / off")
    parser.add_argument("--telemetry-only", action="store_true",
                        help="only the runtime path with TensorBoard on / off")
    parser.add_argument("--rss-child", type=int, default=0)
    parser.add_argument("--tf-threads", default="", metavar="INTRA,INTER",
                        help="TF intra/inter-op thread pools (default: what SelfLearningModel "
                             "sets, 1,1)")
    args = parser.parse_args()
    # Before TensorFlow is imported; inherited by the RSS subprocesses. The default is what
    # the model itself configures (runtime_env.configure_tensorflow_threads).
    intra, inter = (args.tf_threads or "1,1").split(",")
    os.environ.update(TF_NUM_INTRAOP_THREADS=intra, TF_NUM_INTEROP_THREADS=inter)
    from self_learning.runtime.runtime_env import configure_tensorflow_threads

    configure_tensorflow_threads()  # and XLA_FLAGS, as SelfLearningModel does
    if args.rss_child:
        rss_child(args.rss_child)
        return
    candles, names = load_candles(args.pair)
    if args.telemetry_only:
        result = bench_telemetry(names, candles, FIT_CANDLES + 1, args.candles)
        print_figures(result, 40)
        return
    learner = build_learner(names)
    t0 = time.perf_counter()
    learner.fit(candles.rows(slice(0, FIT_CANDLES)))
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    learner.observe(candles.rows(slice(FIT_CANDLES, FIT_CANDLES + 1)))
    first_s = time.perf_counter() - t0
    times, steps, single_rate = bench_update(learner, candles, FIT_CANDLES + 1, args.candles)
    at = FIT_CANDLES + 1 + WARMUP + args.candles
    predict_p50, serve_p50 = bench_predict(learner, candles, at)
    rate = bench_prequential(learner, candles, at, args.block)
    p50 = pct(times, 50)
    result = {
        "update_ms_p50": round(p50, 3), "update_ms_p99": round(pct(times, 99), 3),
        "step_ms_p50": round(pct(steps, 50), 3), "step_ms_p99": round(pct(steps, 99), 3),
        "predict_ms_p50": round(predict_p50, 3), "serve_ms_p50": round(serve_p50, 3),
        "prequential_candles_per_s": round(rate, 1),
        "single_candles_per_s": round(single_rate, 1),
        "prequential_speedup": round(rate / single_rate, 2),
        "first_observe_s": round(first_s, 2), "fit_s": round(fit_s, 2),
        "tf_threads": f"{intra},{inter}",
        "replaced_design_update_ms": REPLACED_DESIGN_UPDATE_MS,
        "update_speedup_vs_replaced": round(REPLACED_DESIGN_UPDATE_MS / p50, 1),
    }
    if not args.no_telemetry:
        result.update(bench_telemetry(names, candles, at + args.block + 60, args.candles))
    if not args.no_rss:
        result.update(bench_rss())
    print(f"pair {args.pair}, {len(names)} features, fit {FIT_CANDLES} candles in {fit_s:.1f} s")
    print_figures(result, 30)


if __name__ == "__main__":
    main()
