"""What predicts today's markets, and does online learning pay? (issue 19, research part)

    nice -n 10 .venv/bin/python benchmarks/edge_study.py [--data ../shared/data/binance_usdt]
        [--quick] [--prior-only] [--momentum-only] [--rank-follow-up] [--expert-follow-up]
        [--blend-follow-up]

A fast, self-contained numpy/pandas study on the six Binance USDT pairs (no freqtrade, no
TensorFlow). Features: a TA-Lib-free approximation of SelfLearningStrategy's ratios (baseline)
plus candidate groups (edge_features.py); the target is `&-s_close` through the model's one
formula (self_learning.candles.features.observed_targets). Walk-forward ridge in the wide
head's units
(edge_learners.py): train on the trailing window (5 days at 5m, 30 days at 1h, purged by H),
predict the next period (1 day / 7 days), refit each period; pooled over pairs unless noted.
Online learning: exponentially forgetting ridges of several memories, their fixed-share
mixture and their average, against that static walk-forward on the same features and rows.
A prior mean (`prior_stage`, DEV only): the ridge shrinking toward a fixed coefficient on
sma_dist period 20 instead of toward 0, its penalty chosen per pair by the model's record,
against the record without a prior (`--prior-only` prints just these tables).
Momentum (`momentum_stage`, first horizon of each timeframe): 3/7/14-day returns of the pair,
the basket and BTC, the pair minus the basket and its 7-day rank among the pairs, added to the
DEV-chosen combo on a design of their own (the 14-day windows start later);
`--momentum-only` prints just these tables.
Rank follow-up (edge_rank.py, first horizon of each timeframe, `--rank-follow-up` prints only
its tables): rank-Gaussian features and a label averaged over H/2, H and 2H, each against the
current ridge on the DEV-chosen combo, with the random-walk control.
Expert follow-up (edge_expert.py, 5m H=12 and 1h H=4, `--expert-follow-up` prints only its
tables and the rule's verdict): the DEV-chosen combo's ridge and the yardstick -(close/SMA20-1)
as two experts, mixed by their prequential squared losses (M-EW) or trailing ICs (M-IC).
Blend follow-up (edge_blend.py, `--blend-follow-up`): the same two blended with equal weights
fixed beforehand, by their trailing scales (Z-EQ) or trailing distribution functions (U-EQ).

Windows: DEV (5m: Jan-Feb 2025; 1h: Oct 2024 - Jan 2025) is where every choice is made;
HOLDOUT (5m: Mar 15 - Apr 29 2025; 1h: Feb - Apr 2025) is only reported. Metric
(edge_scoring.py): per pair Spearman IC over the window's rows, averaged over pairs, 95 %
leave-one-day-out jackknife interval; paired differences against the baseline on the same
rows. Controls: the same pipeline on simulated i.i.d. returns (a random walk; must be 0 within
its interval), and a generated regime-flip market (self_learning_offline.market --flip-day).
Prints markdown tables, then one JSON line (the last line).
"""

# ruff: noqa: E402  (BLAS threads are set before numpy is imported)
from __future__ import annotations

import os

# Small matrices on a shared 2-core machine: BLAS threads only contend.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import edge_features as ef
import edge_learners as el
import edge_scoring as es
import numpy as np
import pandas as pd
from edge_blend import CANDIDATES as BLENDS
from edge_blend import blend_tables
from edge_expert import CANDIDATES as EXPERTS
from edge_expert import expert_tables, verdict
from edge_rank import rank_tables
from edge_tables import paired, summary, table
from quality_sets import SHARED

from self_learning.strategy.market_features import basket_returns

PAIRS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "BNB")
FEE = 0.002
LAM = 0.3  # the wide head's default ridge penalty (per sample)
# Learning rates of the mixture on squared losses in target-spread units, summed over the
# pairs of a block: 1 follows the recent leader closely, 0.05 stays close to equal weights.
ETAS = (1.0, 0.05)
# The wide head's candidate penalties (returns/models.py PENALTIES), and the prior-mean ridge's:
# the same plus two large ones, so that its record can choose "the prior" end.
PENALTIES = (0.03, 0.1, 0.3, 1.0, 3.0)
PRIOR_PENALTIES = (*PENALTIES, 30.0, 300.0)
# The prior mean: a fixed coefficient on the base timeframe's sma_dist period 20 in wide-head
# units (z-scored feature, target in spread units), about the yardstick's correlation with
# the target (DEV IC ~0.03), with its sign: above the average -> lower returns.
PRIOR = -0.03
PRIOR_FEATURE = "sma_dist_20x1"
# Half-life (candles) of the penalty record, as in the quality runs' memory_candles.
RECORD_HALF_LIFE = {"5m": 576, "1h": 8760}
# The momentum group's windows and its cross-sectional rank's window, in days.
MOMENTUM_DAYS = (3, 7, 14)
RANK_DAYS = 7


class Frame:
    """One timeframe's settings: candles per day, walk-forward window/period, horizons, the
    strategy's higher timeframes as period multipliers, online memories and block."""

    def __init__(self, tf, day, window_days, period_days, horizons, mults, half_lives,
                 block, dev, holdout):
        self.tf, self.day, self.horizons, self.mults = tf, day, horizons, mults
        self.window, self.period = window_days * day, period_days * day
        self.half_lives, self.block, self.dev, self.holdout = half_lives, block, dev, holdout


FRAMES = (
    Frame("5m", 288, 5, 1, (12, 48, 144), (1, 3, 12), (12, 72, 288, 576, 2016, 8064), 12,
          ("2025-01-01", "2025-03-01"), ("2025-03-15", "2025-04-30")),
    Frame("1h", 24, 30, 7, (4, 12, 24), (1, 4), (6, 24, 72, 168, 672, 2016), 1,
          ("2024-10-01", "2025-02-01"), ("2025-02-01", "2025-04-30")),
)


def load(folder: Path, tf: str) -> list[pd.DataFrame]:
    frames = [pd.read_feather(folder / f"{p}_USDT-{tf}.feather") for p in PAIRS]
    dates = frames[0]["date"]
    for p, f in zip(PAIRS, frames, strict=True):
        if not f["date"].equals(dates):
            raise SystemExit(f"{p}_USDT-{tf}: dates differ from BTC's; the study needs aligned "
                             "candles without gaps")
    return frames


class Panel:
    """Features (pairs, n, F) with their group of each column, closes and dates; `momentum`
    adds that group (its 14-day windows start the panel's first complete row later)."""

    def __init__(self, frames: list[pd.DataFrame], fr: Frame, momentum: bool = False):
        rets = [ef.log_returns(f["close"]) for f in frames]
        basket, btc = basket_returns(rets), rets[0]
        tables = [ef.pair_table(f, basket, btc, fr.day, fr.mults) for f in frames]
        if momentum:
            windows = tuple(d * fr.day for d in MOMENTUM_DAYS)
            for tab, cols in zip(tables, ef.momentum(rets, basket, btc, windows,
                                                      RANK_DAYS * fr.day), strict=True):
                tab["momentum"] = cols
        self.names, self.group = [], []
        for g, cols in tables[0].items():
            self.names += list(cols)
            self.group += [g] * len(cols)
        self.group = np.array(self.group)
        self.x = np.stack([np.column_stack([np.asarray(c, float) for t in tab.values()
                                            for c in t.values()]) for tab in tables])
        self.frames, self.dates = frames, frames[0]["date"]
        self.close = np.stack([f["close"].to_numpy(float) for f in frames])
        self.vol = np.stack([r.rolling(fr.day).std().to_numpy() for r in rets])
        self.day = ((self.dates - self.dates.iloc[0]).dt.days).to_numpy()
        self.warm = int(max(np.argmax(np.isfinite(self.x[p]).all(axis=1))
                            for p in range(len(frames))))

    def cols(self, groups) -> np.ndarray:
        return np.flatnonzero(np.isin(self.group, list(groups)))

    def days(self, span) -> np.ndarray:
        lo, hi = (pd.Timestamp(s, tz="UTC") for s in span)
        return np.unique(self.day[((self.dates >= lo) & (self.dates < hi)).to_numpy()])


class Study:
    """One timeframe and horizon: targets, the walk-forward design, scoring by window."""

    def __init__(self, panel: Panel, fr: Frame, horizon: int):
        self.p, self.fr, self.h = panel, fr, horizon
        self.y = np.stack([ef.target(f, horizon) for f in panel.frames])
        self.resid = self.y - np.nanmean(self.y, axis=0)
        self.vol = panel.vol * np.sqrt(horizon)
        self.fwd = np.stack([ef.forward_return(c, horizon) for c in panel.close])
        train = {"raw": self.y, "resid": self.resid, "volscaled": self.y / self.vol}
        first = int(np.ceil((panel.warm + fr.window) / fr.day) * fr.day)
        self.first = first
        self.d = el.build_design(panel.x, train, first, fr.window, fr.period, horizon)
        self.windows = {"DEV": panel.days(fr.dev), "HOLDOUT": panel.days(fr.holdout)}
        first_day = panel.day[first]
        self.windows = {k: v[v >= first_day] for k, v in self.windows.items()}

    def to_return(self, pred: np.ndarray, variant: str) -> np.ndarray:
        """Predictions in target-spread units -> predicted `&-s_close` (return units)."""
        d = self.d
        k = np.maximum(d.period_of_row, 0)
        out = pred * d.scale[variant][k].T
        return out * self.vol if variant == "volscaled" else out

    def score(self, pred_ret: np.ndarray, target: np.ndarray | None = None) -> dict:
        target = self.y if target is None else target
        return {w: es.window_score(pred_ret, target, self.p.day, days)
                for w, days in self.windows.items()}

    def trade(self, pred_ret: np.ndarray) -> dict:
        days = self.windows["HOLDOUT"]
        mask = np.isin(self.p.day, days)
        return es.trade_readout(pred_ret, self.fwd, mask, FEE, len(days) / 7)


def naive(study: Study) -> np.ndarray:
    close = study.p.close
    return np.stack([-(c / pd.Series(c).rolling(20).mean().to_numpy() - 1) for c in close])


def candidates(study: Study) -> dict[str, dict]:
    """Stage 1: baseline, each group added, the DEV-chosen combination and its targets."""
    p = study.p
    base = ("baseline", "time")
    specs = {"baseline": (base, "raw", True, LAM),
             "baseline per pair": (base, "raw", False, LAM),
             "baseline - time": (("baseline",), "raw", True, LAM)}
    for g in ("market", "range_vol", "volume", "autocorr", "time2"):
        specs[f"+{g}"] = ((*base, g), "raw", True, LAM)
    results = {"naive -(close/SMA20-1)": scored(study, {"ret": naive(study)})}
    for name, spec in specs.items():
        results[name] = scored(study, run_ridge(study, p.cols(spec[0]), *spec[1:]))
    chosen = [g for g in ("market", "range_vol", "volume", "autocorr", "time2")
              if paired(results[f"+{g}"], results["baseline"], "DEV").ic > 0]
    combo = (*base, *chosen)
    for name, variant, lam in (("combo raw", "raw", LAM), ("combo raw lam=3", "raw", 3.0),
                               ("combo raw lam=30", "raw", 30.0),
                               ("combo resid", "resid", LAM),
                               ("combo volscaled", "volscaled", LAM)):
        results[name] = scored(study, run_ridge(study, p.cols(combo), variant, True, lam))
    # The yardstick's own feature, its coefficient learned: does learning lose to a fixed sign?
    one = np.flatnonzero(np.array(p.names) == "sma_dist_20x1")
    results["ridge on sma_dist_20 only"] = scored(study, run_ridge(study, one, "raw", True, LAM))
    results["combo resid"]["resid_scores"] = study.score(results["combo resid"]["ret"],
                                                         study.resid)
    results["_combo"] = {"groups": list(combo)}
    return results


def scored(study: Study, r: dict) -> dict:
    r["scores"], r["trade"] = study.score(r["ret"]), study.trade(r["ret"])
    return r


def market_parts(study: Study) -> dict[str, dict]:
    """Which part of the market group carries it: baseline plus BTC's, the basket's, or the
    relative-return features alone (a decomposition, reported, not used to choose)."""
    p, base = study.p, study.p.cols(("baseline", "time"))
    names = np.array(p.names, dtype=str)
    out = {"baseline": scored(study, run_ridge(study, base, "raw", True, LAM))}
    for label, prefix in (("+BTC returns/vol", "btc_"), ("+basket returns/vol", "basket_"),
                          ("+pair minus basket returns", "rel_ret_")):
        cols = np.r_[base, np.flatnonzero(np.char.startswith(names, prefix))]
        out[label] = scored(study, run_ridge(study, cols, "raw", True, LAM))
    return out


def run_ridge(study: Study, cols, variant: str, pooled: bool, lam: float) -> dict:
    pred = el.ridge_predictions(study.d, cols, variant, pooled, lam)
    return {"ret": study.to_return(pred, variant), "raw_pred": pred}


def online(study: Study, groups, block: int | None = None) -> dict[str, dict]:
    """Stage 3: forgetting ridges of several memories, their mixture, the static walk-forward."""
    fr, d = study.fr, study.d
    cols = study.p.cols(groups)
    y_sc = el.scaled_target(d, study.y, "raw")
    preds = el.online_predictions(d, cols, y_sc, study.h, fr.half_lives, block or fr.block, LAM)
    out = {}
    for hl, pr in zip(fr.half_lives, preds, strict=True):
        out[f"RLS half-life {hl}"] = {"ret": study.to_return(pr, "raw")}
    for eta in ETAS:
        mix, weights = el.mixture(preds, y_sc, study.h, eta=eta, share=0.01,
                                  block=block or fr.block, first=int(d.starts[0]))
        out[f"mixture EWA eta={eta}"] = {"ret": study.to_return(mix, "raw"),
                                         "weights": weights[-1].round(3).tolist()}
    out["equal-weight average"] = {"ret": study.to_return(np.mean(preds, axis=0), "raw")}
    out["static walk-forward"] = run_ridge(study, cols, "raw", True, LAM)
    for r in out.values():
        r["scores"] = study.score(r["ret"])
    return out


def flip_stage(out_dir: Path) -> dict[str, dict]:
    """Stage 4: a generated market whose edge flips (mean reversion -> trend) at 00:00 of day
    12 of 20: IC of each learner over the 3 days before and after the flip (6-hour blocks)."""
    pairs = [f"{p}/USDT" for p in PAIRS]
    subprocess.run([sys.executable, "-m", "self_learning_offline.market", "--out", str(out_dir),
                    "--pairs", *pairs, "--timeframe", "5m", "--days", "20", "--flip-day", "12",
                    "--end", "20250301", "--seed", "7"], check=True, capture_output=True)
    fr = FRAMES[0]
    panel = Panel(load(out_dir, "5m"), fr)
    study = Study(panel, fr, 12)
    flip = pd.Timestamp("2025-02-21", tz="UTC")
    block = np.arange(len(panel.dates)) // 72
    spans = {"3 days before": (flip - pd.Timedelta(days=3), flip),
             "3 days after": (flip, flip + pd.Timedelta(days=3))}
    masks = {k: ((panel.dates >= lo) & (panel.dates < hi)).to_numpy()
             for k, (lo, hi) in spans.items()}
    results = online(study, ("baseline", "time"))
    results["naive -(close/SMA20-1)"] = {"ret": naive(study)}
    for r in results.values():
        r["scores"] = {k: es.window_score(r["ret"], study.y, block, np.unique(block[m]))
                       for k, m in masks.items()}
    return results


def prior_stage(study: Study, diagnostics: bool = True) -> dict[str, dict]:
    """The prior-mean ridge (shrinks toward PRIOR on PRIOR_FEATURE instead of toward zero) on
    the strategy's features, lam chosen per pair by the model's penalty record, against the
    same record without a prior (what the model does today)."""
    p, d, fr = study.p, study.d, study.fr
    cols = p.cols(("baseline", "time"))
    prior = np.where(np.array(p.names)[cols] == PRIOR_FEATURE, PRIOR, 0.0)
    if not prior.any():
        raise SystemExit(f"no {PRIOR_FEATURE} column")
    y_sc = el.scaled_target(d, study.y, "raw")
    decay = 0.5 ** (fr.period / RECORD_HALF_LIFE[fr.tf])

    def fixed(lams, with_prior):
        return np.stack([el.ridge_predictions(d, cols, "raw", True, lam,
                                              prior if with_prior else None) for lam in lams])

    def record(preds, lams):
        served, chosen = el.record_choice(d, preds, y_sc, study.h, decay, lams.index(LAM))
        dev = np.isin(p.day[d.starts], study.windows["DEV"])  # choices of DEV periods only
        return {"ret": study.to_return(served, "raw"),
                "chosen": np.bincount(chosen[dev].ravel(), minlength=len(lams)).tolist()}

    plain, with_prior = fixed(PENALTIES, False), fixed(PRIOR_PENALTIES, True)
    out = {"current: record over 0.03..3, no prior": record(plain, PENALTIES),
           "prior, record over 0.03..300": record(with_prior, PRIOR_PENALTIES)}
    if diagnostics:
        out["no prior, record over 0.03..300"] = record(fixed(PRIOR_PENALTIES, False),
                                                        PRIOR_PENALTIES)
        for i, lam in enumerate(PRIOR_PENALTIES):
            if lam in (0.3, 3.0, 30.0, 300.0):
                out[f"prior, lam={lam:g}"] = {"ret": study.to_return(with_prior[i], "raw")}
        alone = np.einsum("pnf,f->pn", d.z[:, :, cols], prior)
        out["prior alone (no learning)"] = {"ret": study.to_return(alone, "raw")}
        out["naive -(close/SMA20-1)"] = {"ret": naive(study)}
    for r in out.values():
        r["scores"] = study.score(r["ret"])
    return out


def prior_tables(frames, panel: Panel, fr: Frame, h: int, study: Study | None = None) -> dict:
    """Prints the prior-mean tables of one setting (real data, then the random-walk control);
    returns their JSON entry."""
    key = f"{fr.tf} H={h}"
    res = prior_stage(study or Study(panel, fr, h))
    ref = "current: record over 0.03..3, no prior"
    table(f"{key}: ridge with a prior mean (beta0 = {PRIOR} on {PRIOR_FEATURE}, baseline + "
          "time features; DEV only)", res, ref, windows=("DEV",))
    for name, r in res.items():
        if "chosen" in r:
            print(f"\n{name}: DEV (period, pair) cells per penalty {r['chosen']}")
    ctl = prior_stage(Study(Panel(ef.random_walk(frames, seed=1), fr), fr, h), False)
    table(f"{key}: ridge with a prior mean, random-walk control", ctl, ref, windows=("DEV",))
    return {name: {"DEV": summary(r["scores"]["DEV"])}
            for name, r in {**res, **{f"control {n}": r for n, r in ctl.items()}}.items()}


def momentum_stage(frames, fr: Frame, h: int, combo, parts: bool = True) -> tuple[Study, dict]:
    """combo and combo + momentum (3/7/14-day returns of the pair, the basket and BTC, the
    pair minus the basket, the pair's 7-day rank) fitted on one design, the momentum panel's:
    its 14-day windows need 14 more days of candles, so its rows start later than the other
    stages'. `parts`: also baseline, baseline + momentum and combo plus each part of the group
    (a decomposition, reported, not used to choose)."""
    study = Study(Panel(frames, fr, momentum=True), fr, h)
    p = study.p
    combo_cols = p.cols(combo)
    specs = {"combo": combo_cols, "combo + momentum": p.cols((*combo, "momentum"))}
    if parts:
        specs["baseline"] = p.cols(("baseline", "time"))
        specs["+momentum"] = p.cols(("baseline", "time", "momentum"))
        for label, prefixes in (("combo + own returns", ("mom_pair_ret_",)),
                                ("combo + basket and BTC returns", ("mom_basket_", "mom_btc_")),
                                ("combo + pair minus basket, 7-day rank",
                                 ("mom_rel_ret_", "mom_rank_"))):
            part = [i for i, name in enumerate(p.names) if name.startswith(prefixes)]
            specs[label] = np.r_[combo_cols, part]
    out = {}
    for name, cols in specs.items():
        out[name] = run_ridge(study, cols, "raw", True, LAM)
        out[name]["scores"] = study.score(out[name]["ret"])
    return study, out


def momentum_tables(frames, fr: Frame, h: int, combo) -> dict:
    """Prints the momentum tables of one setting (real data, then the random-walk control);
    returns their JSON entry."""
    key = f"{fr.tf} H={h}"
    study, res = momentum_stage(frames, fr, h, combo)
    day0 = study.windows["DEV"][0]
    first = study.p.dates[study.p.day == day0].iloc[0].date()
    spans = "/".join(f"{d * fr.day}" for d in MOMENTUM_DAYS)
    table(f"{key}: momentum over {'/'.join(map(str, MOMENTUM_DAYS))} days ({spans} candles; "
          f"combo = {' + '.join(combo)}; rows from {first})", res, "combo")
    gain = {w: paired(res["+momentum"], res["baseline"], w) for w in study.windows}
    print("\n+momentum minus baseline: " + ", ".join(f"{w} {es.fmt(s)}" for w, s in gain.items()))
    _, ctl = momentum_stage(ef.random_walk(frames, seed=1), fr, h, combo, parts=False)
    table(f"{key}: momentum, random-walk control", ctl, "combo")

    def entry(results):
        out = {name: {w: summary(s) for w, s in r["scores"].items()}
               for name, r in results.items()}
        out["combo + momentum minus combo"] = {
            w: summary(paired(results["combo + momentum"], results["combo"], w))
            for w in study.windows}
        return out

    return {"first_day": str(first), **entry(res), "control": entry(ctl)}


def control(frames, fr: Frame, horizon: int, groups) -> dict[str, dict]:
    """Stage 5: the same pipeline on i.i.d. candles (no signal anywhere)."""
    study = Study(Panel(ef.random_walk(frames, seed=1), fr), fr, horizon)
    res = {"baseline": run_ridge(study, study.p.cols(("baseline", "time")), "raw", True, LAM),
           "combo": run_ridge(study, study.p.cols(groups), "raw", True, LAM),
           "naive -(close/SMA20-1)": {"ret": naive(study)}}
    for r in res.values():
        r["scores"] = study.score(r["ret"])
    return res


def setting(frames, panel: Panel, fr: Frame, h: int) -> tuple[dict, list]:
    """Every stage of one timeframe and horizon: prints its tables, returns its JSON entry
    and (DEV IC / se, setting, candidate, DEV, HOLDOUT) of each candidate."""
    study = Study(panel, fr, h)
    res = candidates(study)
    combo = res.pop("_combo")["groups"]
    key = f"{fr.tf} H={h}"
    table(f"{key}: features and targets (pooled ridge unless noted; combo = "
          f"{' + '.join(combo)}, chosen on DEV)", res, "baseline", trade=True)
    r = res["combo resid"]["resid_scores"]
    print(f"\ncombo resid scored against the residual target: DEV {es.fmt(r['DEV'])}, "
          f"HOLDOUT {es.fmt(r['HOLDOUT'])}")
    if h == fr.horizons[0]:
        table(f"{key}: parts of the market group", market_parts(study), "baseline")
        prior = prior_tables(frames, panel, fr, h, study)
    onl = online(study, combo)
    table(f"{key}: online learning (features {' + '.join(combo)})", onl, "static walk-forward")
    for eta in ETAS:
        print(f"\nmixture eta={eta} weights at the end: "
              f"{onl[f'mixture EWA eta={eta}']['weights']} over half-lives {fr.half_lives} "
              "candles")
    ctl = control(frames, fr, h, combo)
    table(f"{key}: random-walk control (i.i.d. candles, same pipeline)", ctl, None)
    if h == fr.horizons[0]:
        momentum = momentum_tables(frames, fr, h, combo)
        rank = rank_tables(study, Study(Panel(ef.random_walk(frames, seed=1), fr), fr, h), combo,
                           LAM)
    entry = {name: {w: summary(s) for w, s in r["scores"].items()}
             for name, r in {**res, **onl}.items()}
    entry["control"] = {n: {w: summary(s) for w, s in r["scores"].items()}
                        for n, r in ctl.items()}
    entry["combo_groups"] = combo
    if h == fr.horizons[0]:
        entry["prior"] = prior
        entry["momentum"] = momentum
        entry["rank"] = rank
    ranked = []
    for name, r in res.items():
        dev = r["scores"]["DEV"]
        tstat = float(np.nan_to_num(dev.ic / dev.se, nan=-np.inf)) if dev.se > 0 else -np.inf
        ranked.append((tstat, key, name, summary(dev), summary(r["scores"]["HOLDOUT"])))
    return entry, ranked


def follow_up_studies(data: Path):
    """Per timeframe, at its first horizon (5m H=12, 1h H=4), what a follow-up compares on:
    its key, the study, the same setting's study on the random-walk candles (seed 1) and the
    DEV-chosen combo."""
    for fr in FRAMES:
        frames, h = load(data, fr.tf), fr.horizons[0]
        study = Study(Panel(frames, fr), fr, h)
        combo = candidates(study)["_combo"]["groups"]
        control = Study(Panel(ef.random_walk(frames, seed=1), fr), fr, h)
        yield f"{fr.tf} H={h}", study, control, combo


def ruled_follow_up(data: Path, key: str, rule: str, names, tables) -> None:
    """A follow-up judged by docs/rules/<rule>-rule.md (edge_expert.verdict's bar): prints
    `tables(study, control, combo)` of each setting, the verdict on `names`, then one JSON line
    {key: ...}."""
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    t0, out, raw = time.process_time(), {}, {}
    for setting, study, control, combo in follow_up_studies(data):
        out[setting], raw[setting] = tables(study, control, combo)
    out["verdict"] = verdict(raw, names)
    print(f"\nRule (docs/rules/{rule}-rule.md): " + "; ".join(
        f"{name}: " + ("recommended" if v["recommended"] else
                       "fails clause " + ", ".join(map(str, v["fails"])))
        for name, v in out["verdict"].items()))
    out["cpu_seconds"] = round(time.process_time() - t0, 1)
    print(json.dumps({key: out}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED / "binance_usdt",
                    help="folder of the usdt candles (default: ../shared/data/binance_usdt)")
    ap.add_argument("--quick", action="store_true", help="one horizon per timeframe")
    ap.add_argument("--prior-only", action="store_true",
                    help="only the prior-mean ridge tables (5m H=12, 1h H=4)")
    ap.add_argument("--momentum-only", action="store_true",
                    help="only the momentum tables (5m H=12, 1h H=4)")
    ap.add_argument("--rank-follow-up", action="store_true",
                    help="only the rank-Gaussian and label-averaging tables (5m H=12, 1h H=4)")
    ap.add_argument("--expert-follow-up", action="store_true",
                    help="only the ridge + yardstick expert mixture tables (5m H=12, 1h H=4)")
    ap.add_argument("--blend-follow-up", action="store_true",
                    help="only the fixed equal-weight ridge + yardstick blend tables "
                         "(5m H=12, 1h H=4)")
    args = ap.parse_args()
    if args.blend_follow_up:
        ruled_follow_up(args.data, "blend", "fixedblend", BLENDS,
                        lambda study, control, combo: blend_tables(study, control, naive,
                                                                   combo, LAM))
        return
    if args.expert_follow_up:
        ruled_follow_up(args.data, "expert", "yardexpert", EXPERTS,
                        lambda study, control, combo: expert_tables(study, control, naive,
                                                                    combo, LAM, ETAS[1]))
        return
    if args.rank_follow_up:
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        out = {key: rank_tables(study, control, combo, LAM)
               for key, study, control, combo in follow_up_studies(args.data)}
        print(json.dumps({"rank": out}))
        return
    if args.momentum_only:
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        out = {}
        for fr in FRAMES:
            frames, h = load(args.data, fr.tf), fr.horizons[0]
            combo = candidates(Study(Panel(frames, fr), fr, h))["_combo"]["groups"]
            out[f"{fr.tf} H={h}"] = momentum_tables(frames, fr, h, combo)
        print(json.dumps({"momentum": out}))
        return
    if args.prior_only:
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        out = {}
        for fr in FRAMES:
            frames = load(args.data, fr.tf)
            out[f"{fr.tf} H={fr.horizons[0]}"] = prior_tables(frames, Panel(frames, fr), fr,
                                                            fr.horizons[0])
        print(json.dumps({"prior": out}))
        return
    warnings.filterwarnings("ignore", category=RuntimeWarning)  # nan-means of empty slices
    t0 = time.time()
    report: dict = {"fee": FEE, "lam": LAM}
    ranked = []
    for fr in FRAMES:
        frames = load(args.data, fr.tf)
        panel = Panel(frames, fr)
        for h in fr.horizons[:1] if args.quick else fr.horizons:
            report[f"{fr.tf} H={h}"], found = setting(frames, panel, fr, h)
            ranked += found
    with tempfile.TemporaryDirectory() as tmp:
        flip = flip_stage(Path(tmp))
    table("Regime flip (generated, 5m, H=12, baseline features): IC around the flip",
          flip, "static walk-forward", windows=("3 days before", "3 days after"))
    report["flip"] = {n: {w: summary(s) for w, s in r["scores"].items()}
                      for n, r in flip.items()}
    best = max(ranked, key=lambda row: row[0])
    report["best_on_dev"] = {"by": "DEV IC / jackknife se", "frame": best[1],
                             "candidate": best[2], "dev": best[3], "holdout": best[4]}
    report["seconds"] = round(time.time() - t0, 1)
    print(f"\nBest on DEV (by IC / se): {best[1]} {best[2]}: DEV {best[3]}, "
          f"HOLDOUT {best[4]}")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
