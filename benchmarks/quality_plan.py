"""What benchmarks/quality.py runs and how one group of windows (dev or holdout) is scored:
the plan (data, pairs, stake, timeframe, windows), the runs of each window, the model specs,
and `score_group` which joins predictions with the realized targets, scores them
(quality_scoring.py), adds the trades (quality_trades.py) and prints the tables."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from backtest_runs import (
    BenchError,
    RunResult,
    RunSpec,
    deep_merge,
    load_predictions,
    train_seconds,
)
from quality_scoring import score_ablation, score_flip, score_models, scored_rows
from quality_sets import Timeframe, Window, timerange_bounds
from quality_tables import (
    print_ablation,
    print_flip,
    print_paired_trades,
    print_tables,
    print_weeks,
)
from quality_trades import (
    WindowTrades,
    buy_and_hold,
    combine,
    entry_quality,
    paired_trades,
    read_window_trades,
    run_daily_profit,
    weekly_pairs,
)

from self_learning.reports import evaluation as ev
from self_learning_offline.market import (
    EdgeEmerge,
    EdgeFade,
    EdgeFlip,
    EdgeGlide,
    EdgeReverse,
    VolatilityShock,
    pair_filename,
)
from self_learning_offline.market.scenario import (
    FLIP_AVERAGE_MINUTES,
    FLIP_STRENGTH,
    HOURLY_DEMO_MINUTES,
    Scenario,
    time_scaled,
)

SL, LGBM = "SelfLearningModel", "LightGBMRegressorMultiTarget"
ABLATION = {  # row -> freqai.self_learning overrides on top of the defaults
    "full": {}, "no_online": {"prequential_backtest": False},
    "per_pair": {"shared_across_pairs": False}, "no_latent": {"use_latent": False},
    "no_replay": {"replay_batch": 0}, "quality_weighting": {"quality_weighting": True},
    "deep_head": {"deep_head": True}, "no_drift_response": {"drift_response": False},
    "no_challenge": {"drift_challenge": False},
}
# The scenarios whose market changes character at a moment (the plan's flip_at), each built
# from that moment: scored before / after it, run as full, no_online, frozen, no_challenge.
# glide's moment is the end of its glide, which fills the days before it (change_market).
CHANGES = {"flip": EdgeFlip, "fade": EdgeFade, "emerge": EdgeEmerge,
           "reverse": EdgeReverse, "glide": EdgeGlide, "volshock": VolatilityShock}


@dataclass(frozen=True)
class ChangeLayout:
    """A CHANGES scenario at one timeframe (`--scenario-timeframe`): `test_days` backtested,
    the change `after_days` before their end, the market's moving average over
    `average_minutes` (its pull time_scaled to it, so that the timeframe's candles see the
    edge)."""

    test_days: int
    after_days: int
    average_minutes: float


# 5m: the shipped 5m setup retrains daily. 1h: weekly; a retrain falls on the change (it sees
# none of it), the next one a week later (a quarter of its 30 days after the change); 14 days
# after it are 336 candles, about the 5m market's 3 days (864).
CHANGE_LAYOUTS = {"5m": ChangeLayout(6, 3, FLIP_AVERAGE_MINUTES),
                  "1h": ChangeLayout(28, 14, HOURLY_DEMO_MINUTES)}


def change_market(scenario: str, at: datetime, layout: ChangeLayout) -> Scenario:
    """The CHANGES market `scenario` changing character at `at` on `layout`: the flip's pull
    time_scaled to the layout's average; a glide spans the layout's days before the change
    (5m: 3, 1h: 14), so it starts with the backtest and `at` is its end."""
    kind = CHANGES[scenario]
    extra = {"days": float(layout.test_days - layout.after_days)} if kind is EdgeGlide else {}
    return kind(at, strength=time_scaled(FLIP_STRENGTH, layout.average_minutes),
                average_minutes=layout.average_minutes, **extra)


@dataclass(frozen=True)
class Plan:
    """The data of one benchmark run and its windows (flip_at: the moment a CHANGES scenario
    changes character; frozen_days: its test days, which its `frozen` row is trained once
    for, its backtest_period_days)."""

    name: str
    datadir: Path
    pairs: list[str]
    stake: str
    timeframe: Timeframe
    windows: list[Window]
    flip_at: pd.Timestamp | None
    frozen_days: int | None = None

    def candles(self, pair: str) -> pd.DataFrame:
        path = self.datadir / pair_filename(pair, self.timeframe.name)
        if not path.is_file():
            raise BenchError(f"candle file missing: {path} (see ../shared/data/README.md)")
        frame = pd.read_feather(path)
        frame["date"] = pd.to_datetime(frame["date"], utc=True).astype("datetime64[ns, UTC]")
        return frame

    def truth(self, horizon: int) -> dict[str, pd.DataFrame]:
        """pair -> date, target (the realized &-s_close), naive, and the candles' open/close;
        fails unless every window is covered (training days + startup candles before it)."""
        out = {}
        for pair in self.pairs:
            candles = self.candles(pair)
            self.check_coverage(pair, candles)
            truth = ev.realized_targets(candles, horizon)[["date", "&-s_close"]]
            out[pair] = truth.rename(columns={"&-s_close": "target"}).assign(
                naive=ev.naive_signal(candles["close"].to_numpy()),
                open=candles["open"].to_numpy(), close=candles["close"].to_numpy())
        return out

    def check_coverage(self, pair: str, candles: pd.DataFrame) -> None:
        first, last = candles["date"].iloc[0], candles["date"].iloc[-1]
        lead = self.timeframe.lead()
        for window in self.windows:
            begin, end = timerange_bounds(window.timerange)
            if first > begin - lead:
                raise BenchError(
                    f"{pair}: candles start {first}, but window {window.name} "
                    f"({window.timerange}) needs them from {begin - lead} "
                    f"({self.timeframe.train_days} training days + startup candles); start it "
                    f"{(first + lead).ceil('D'):%Y%m%d} or later")
            if last < end:
                raise BenchError(f"{pair}: candles end {last}, before {end} ({window.name})")


@dataclass(frozen=True)
class Run:
    """One model's backtest of one window."""

    window: Window
    result: RunResult


def plan_runs(args: argparse.Namespace, plan: Plan) -> list[RunSpec]:
    """The backtests of every window: full, LightGBM, a second seed and the ablation rows
    (a CHANGES scenario: full, and unless --no-ablation no_online, frozen, no_challenge).
    Every SelfLearning run carries --freqai under its own keys (LightGBM does not: FreqAI's
    detectors would change its rows too, and it is the fixed baseline)."""
    sl = lambda name, extra=None, **freqai: RunSpec(  # noqa: E731
        name, SL, deep_merge(args.freqai, {**freqai, "self_learning": {
            **args.sl, **(extra or {})}}))
    if args.scenario in CHANGES:
        if args.no_ablation:
            return [sl("full")]
        return [sl("full"), sl("no_online", ABLATION["no_online"]),
                sl("frozen", {"prequential_backtest": False},
                   backtest_period_days=plan.frozen_days),
                sl("no_challenge", ABLATION["no_challenge"])]
    specs = [sl("full")]
    if not args.no_lightgbm:
        specs.append(RunSpec("lightgbm", LGBM, {"model_training_parameters":
                                                {"n_jobs": 1, "verbosity": -1}}))
    if not args.no_seed:
        specs.append(sl("seed", {"seed": int(args.sl.get("seed", 42)) + 1}))
    if not args.no_ablation:
        rows = args.ablation or [n for n in ABLATION if n != "full"]
        unknown = set(rows) - set(ABLATION)
        if unknown:
            raise BenchError(f"--ablation {sorted(unknown)}: rows are {sorted(ABLATION)}")
        specs += [sl(name, ABLATION[name]) for name in rows if name != "full"]
    return specs


def group_rows(group: list[dict[str, Run]], plan: Plan, truth: dict[str, pd.DataFrame]
               ) -> dict[str, pd.DataFrame]:
    """run name -> its scored rows over all windows of the group."""
    names = list(group[0])
    return {n: pd.concat([scored_rows(load_predictions(runs[n].result.models_dir, plan.pairs),
                                      truth) for runs in group], ignore_index=True)
            for n in names}


def read_run_trades(group: list[dict[str, Run]], name: str) -> list[WindowTrades]:
    """The trades and wallet of run `name` in each window of the group, read once."""
    return [read_window_trades(runs[name].result.results_dir, runs[name].window.timerange)
            for runs in group]


def trade_figures(windows: list[WindowTrades], rows: pd.DataFrame, candle: pd.Timedelta
                  ) -> dict[str, float]:
    """freqtrade's trade statistics of a run and the entry quality of its trades (`windows`:
    read_run_trades, as read once), combined over the windows."""
    return combine([{**window.stats, **entry_quality(window.trades, rows, candle)}
                    for window in windows])


def after_change(windows: list[WindowTrades], at: pd.Timestamp) -> dict[str, float]:
    """trades_after (trades opened at or after `at`) and profit_after_pct (the profit of the
    trades closed on `at`'s day or later, % of the starting wallet) of a run, from its trades
    read once per window (read_run_trades)."""
    opened = sum(int((window.trades["open_date"] >= at).sum()) for window in windows)
    days = run_daily_profit(windows)
    return {"trades_after": float(opened),
            "profit_after_pct": float(days[days.index >= at.floor("D")].sum())}


TRADE_KEYS = ("trades", "profit_pct", "max_drawdown_pct", "profit_mean_pct", "entries",
              "entry_pred_pct", "entry_realized_pct", "weeks", "weeks_most_pairs")


def hold_figures(group: list[dict[str, Run]], plan: Plan, truth: dict[str, pd.DataFrame],
                 fee: float) -> dict[str, float]:
    candles = {p: t[["date", "open", "close"]] for p, t in truth.items()}
    windows = [next(iter(runs.values())).window for runs in group]
    return combine([buy_and_hold(candles, w.timerange, fee) for w in windows])


def score_group(plan: Plan, group: list[dict[str, Run]], truth: dict[str, pd.DataFrame],
                horizon: int) -> dict[str, float]:
    """Scores, trades, buy-and-hold, seed agreement and ablation of a group of windows, and
    the paired daily trade profit of `full` minus each other run."""
    rows = group_rows(group, plan, truth)
    window_trades = {name: read_run_trades(group, name) for name in rows}
    trades = {name: {**trade_figures(window_trades[name], rows[name], plan.timeframe.candle),
                     **weekly_pairs(window_trades[name], plan.pairs).as_dict()}
              for name in rows}
    out = paired_trades({name: run_daily_profit(window_trades[name]) for name in rows})
    if plan.flip_at is not None:
        out.update(score_flip(rows, plan.flip_at))
        for name in rows:
            figures = {**trades[name], **after_change(window_trades[name], plan.flip_at)}
            out.update({f"trades.{name}.{k}": v for k, v in figures.items()})
        print_flip(out, list(rows), plan.flip_at)
        print("after the change: " + "; ".join(
            f"{n} {out[f'trades.{n}.trades_after']:.0f} trades, "
            f"{out[f'trades.{n}.profit_after_pct']:+.2f} %" for n in rows))
        print_paired_trades(out, list(rows))
        return out
    models = {m: n for m, n in {"self_learning": "full", "lightgbm": "lightgbm"}.items()
              if n in rows}
    out.update(score_models({m: rows[n] for m, n in models.items()}, plan.pairs))
    for model, name in models.items():
        times = sum((sum(train_seconds(runs[name].result.log).values(), [])
                     for runs in group), [])
        out[f"mean.{model}.train_s"] = float(np.median(times)) if times else np.nan
        out.update({f"trades.{model}.{k}": v for k, v in trades[name].items()})
    fee = out.get("trades.self_learning.fee_round_trip_pct", 0.2) / 100
    out.update({f"trades.buy_and_hold.{k}": v
                for k, v in hold_figures(group, plan, truth, fee).items()})
    if "seed" in rows:
        out["mean.self_learning.seed_agreement"] = ev.rank_agreement(rows["full"], rows["seed"])
    ablation = {n: rows[n] for n in ABLATION if n in rows}
    if len(ablation) > 1:
        out.update(score_ablation(ablation))
        for name in ablation:
            out.update({f"ablation.{name}.{k}": trades[name][k]
                        for k in TRADE_KEYS if k in trades[name]})
        print_ablation(out, list(ABLATION))
    print_tables(out, plan.pairs, list(models))
    print_weeks(out, {m: f"trades.{m}" for m in models}
                | {n: f"ablation.{n}" for n in ablation if n != "full"}, len(plan.pairs))
    print_paired_trades(out, list(rows))
    return out
