"""benchmarks/readme_quality.py: the README's quality section is generated from the benchmark's
JSON files, never typed by hand, and its verdict sentence follows the intervals."""

from __future__ import annotations

import json

import pytest
from benchmark_support import load_benchmark

readme = load_benchmark("readme_quality")


def test_readme_quality_section_is_generated_from_the_committed_results():
    """README.md between the markers is exactly what docs/results/quality-*.json render to
    (run `.venv/bin/python benchmarks/readme_quality.py` after a benchmark run)."""
    assert readme.main(["--check"]) == 0


def _results(name: str) -> dict:
    return json.loads((readme.RESULTS / name).read_text())


FILTERS_ON = "use_entry_z=True use_score_ic=True use_expected_return=True"


def _filters_on(run: str) -> dict:
    """strategy_grid.py's row of the three optional filters on the kept 1h holdout run."""
    return _results(f"strategy-grid/usdt-1h-holdout-{run}-filters-on.json")["rows"][FILTERS_ON]


def _entry_result(study: dict, window: str, run: str, params: str) -> dict:
    """entry_study.py's freqtrade-result row of `run` with `params` ("defaults": the kept
    quality run's own backtest; FILTERS_ON: strategy_grid's with the three filters on)."""
    [row] = [r for r in study["results"]
             if (r["window"], r["run"], r["params"]) == (window, run, params)]
    return row


def trading_rules_figures() -> list[str]:
    """The README's "Trading rules" dev figures (the threshold alone against the three filters
    on, what each filter keeps) and the mirrored shorts, formatted from
    docs/results/entry-study/."""
    h1 = _results("entry-study/usdt-1h-dev.json")
    m5 = _results("entry-study/usdt-5m-dev.json")

    def rules(window: str, words: tuple[str, str, str, str]) -> str:
        """The threshold alone against the filters on, the first with `words` (trades,
        drawdown, entries, against) as the README words nov-dec's, none for jan-feb's."""
        alone, on = (_entry_result(h1, window, "full", p) for p in ("defaults", FILTERS_ON))
        return (f"{alone['trades']:.0f}{words[0]}, {alone['profit_pct']:+.2f} %, {words[1]}"
                f"{alone['max_drawdown_pct']:.2f} %, {words[2]}"
                f"{alone['entry_realized_pct']:+.2f} %{words[3]} against {on['trades']:.0f}, "
                f"{on['profit_pct']:+.2f} %, {on['max_drawdown_pct']:.2f} %, "
                f"{on['entry_realized_pct']:+.2f} %")

    def pair(study: dict, window: str, run: str, word: str = "") -> str:
        alone, on = (_entry_result(study, window, run, p) for p in ("defaults", FILTERS_ON))
        return (f"{alone['trades']:.0f} trades, {alone['profit_pct']:+.2f} %{word}, "
                f"{on['trades']:.0f} trades, {on['profit_pct']:+.2f} %")

    def kept(window: str, rule: str, side: str = "alone") -> float:
        return h1[f"{window}.filters"][rule][f"{side}_target_pct"]

    z, ic = "prediction z-score > entry_z 1", "&-score_ic >= min_score_ic 0.1 (or not known yet)"
    fee, every = "expected_return > round-trip fee 0.002", "all (entry signals)"
    threshold = {f"{kept(w, '&-s_close > entry_threshold 0.003'):+.2f}"
                 for w in ("nov-dec", "jan-feb")}
    sides = [h1[f"{w}.full.sides"] for w in ("nov-dec", "jan-feb")] + [
        m5[f"{w}.full.sides"] for w in ("jan", "feb")]
    losing = sum(s["short (mirror)"]["net_pct"] < 0 for s in sides)
    lowered = sum(s["both sides"]["net_pct"] < s["long"]["net_pct"] for s in sides)
    words = {1: "one", 2: "two", 3: "three", 4: "four"}
    nov, jan = "nov-dec", "jan-feb"
    return [
        f"(nov-dec {rules(nov, (' trades', 'max drawdown ', 'entries realizing ', ','))}; "
        f"jan-feb {rules(jan, ('', '', '', ''))})",
        f"alone it kept candles realizing {kept(jan, z):+.2f} % in jan-feb, and leaving it out of "
        f"all the filters raised the signals' realized mean there from {kept(jan, every):+.2f} to "
        f"{kept(jan, z, 'without'):+.2f} %.",
        f"(the signals without it realized {kept(jan, ic, 'without'):+.2f} %) and hurt in nov-dec "
        f"({kept(nov, ic, 'without'):+.2f} % without it against {kept(nov, every):+.2f} %); the "
        f"candles above the threshold realized {' / '.join(sorted(threshold))} % on both.",
        f"alone it kept candles realizing {kept(jan, fee):+.2f} % in jan-feb, and leaving it out "
        f"raised the signals' realized mean there from {kept(jan, every):+.2f} to "
        f"{kept(jan, fee, 'without'):+.2f} %.",
        f"(5m dev feb: {pair(m5, 'feb', 'full', ' without the filters')} with them)",
        f"(1h dev nov-dec: {pair(h1, nov, 'lightgbm')} with the z-score and fee filters on",
        f"short signals lose after the round trip in {words[losing]} of the four dev windows (1h "
        f"nov-dec {sides[0]['short (mirror)']['net_pct']:+.2f} % per signal, 5m jan "
        f"{sides[2]['short (mirror)']['net_pct']:+.2f} %), and adding them lowers the net per "
        f"signal in {words[lowered]} of the four",
    ]


def dev_study_figures() -> list[str]:
    """The README's daily-retrain and basket-share dev figures, from docs/results/dev/."""
    daily = _results("dev/daily-retrain-usdt-1h-dev.json")["dev"]
    basket = _results("dev/basket-share-usdt-1h-dev.json")["all windows"]
    return [
        f"retraining daily instead of weekly gave {daily['diff']:+.4f} "
        f"[{daily['diff_ci_low']:+.4f}, {daily['diff_ci_high']:+.4f}] on the 1h dev windows",
        f"{100 * basket['basket_share']:.0f} % of what the model predicts is the whitelist's "
        f"common move, and its mean ranks the basket's move at "
        f"{basket['timing_ic']['value']:+.2f} while the pairs are ranked against each other at "
        f"{basket['ranking_ic']['value']:+.2f}",
    ]


def flip_seed_figures() -> list[str]:
    """The README's flip figures on other generator seeds, from
    docs/results/scenarios/flip-seeds/ (5m seeds 1-3, 1h seeds 0-3)."""
    five = [_results(f"scenarios/flip-seeds/quality-flip-5m-seed{n}.json") for n in (1, 2, 3)]
    hour = [_results(f"scenarios/flip-seeds/quality-flip-1h-seed{n}.json") for n in range(4)]

    def joined(figs: list[dict], key: str, fmt: str) -> str:
        return ", ".join(format(f[key], fmt) for f in figs)

    return [
        f"IC after the flip {joined(five, 'flip.full.ic_after', '+.3f')} against the frozen "
        f"model's {joined(five, 'flip.frozen.ic_after', '+.3f')}, trades "
        f"{joined(five, 'trades.full.profit_pct', '+.2f')} % against "
        f"{joined(five, 'trades.frozen.profit_pct', '+.2f')} %",
        f"IC after {joined(hour, 'flip.full.ic_after', '+.3f')} against "
        f"{joined(hour, 'flip.frozen.ic_after', '+.3f')}, trades "
        f"{joined(hour, 'trades.full.profit_pct', '+.2f')} % against "
        f"{joined(hour, 'trades.frozen.profit_pct', '+.2f')} %",
    ]


def hold_figures() -> list[str]:
    """The README's hold_on_signal figures (rules/hold-rule.md), from the paired daily trade
    profits in docs/results/strategy-grid/hold-*.json."""
    def diff(name: str, unit: str = "") -> str:
        f = _results(f"strategy-grid/hold-{name}.json")
        return (f"{f['trades.diff']:+.2f}{unit} [{f['trades.diff_ci_low']:+.2f}, "
                f"{f['trades.diff_ci_high']:+.2f}]")

    hold1h = _results("strategy-grid/hold-usdt-1h-holdout.json")
    trades = _results("quality-usdt-1h.json")["trades.self_learning.trades"]
    return [
        f"1h dev {diff('usdt-1h-dev', ' points')} (paired daily trade profit), 5m dev "
        f"{diff('usdt-5m-dev')}",
        f"{hold1h['trades.hold.profit_pct']:+.2f} % against {trades:.0f}, "
        f"{hold1h['trades.cur.profit_pct']:+.2f} % ({diff('usdt-1h-holdout')}), 5m "
        f"{diff('usdt-5m-holdout')}",
    ]


def prose_figures() -> list[str]:
    """The README's figures outside the generated section that are read off docs/results,
    each as the README words it, formatted from the committed files."""
    h1, cold = _results("quality-usdt-1h.json"), _results("speed-usdt-1h-cold.json")
    rerun = _results("speed-usdt-1h-cold-rerun.json")
    rerun_old = _results("speed-usdt-1h-cold-rerun-48cfad4.json")
    m5, btc = _results("quality-usdt-5m.json"), _results("quality-btc-2018.json")
    seeds = [_results(f"null-seeds/quality-null-seed{n}.json") for n in (1, 2, 3)]
    dev1h = _results("dev/quality-usdt-1h-dev-no_online.json")
    dev5m = _results("dev/quality-usdt-5m-dev-no_online.json")
    grid_sl, grid_lgbm = _filters_on("full"), _filters_on("lightgbm")
    flip = _results("scenarios/quality-flip-5m.json")
    null = _results("quality-null.json")
    weekly = _results("weekly/usdt-1h.json")
    med1h = _results("speed-usdt-1h-median.json")
    med5m = _results("speed-usdt-5m-median.json")
    # The README names the rounds in words; both median files ran as many.
    rounds = {3: "three", 5: "five", 7: "seven"}[med1h["meta"]["repeat"]]
    assert med5m["meta"]["repeat"] == med1h["meta"]["repeat"]

    def wall(fig: dict, run: str) -> str:
        return f"{fig[f'runs.mar-apr.{run}.wall_s']:.1f}"

    def spread(fig: dict, run: str, between: str) -> str:
        key = f"speed.{run}.wall_ratio"
        return f"{fig[key + '_low']:.2f}{between}{fig[key + '_high']:.2f}"

    def median(fig: dict, run: str) -> str:
        return f"{fig[f'speed.{run}.wall_ratio']:.2f} [{spread(fig, run, ', ')}]"

    def ratios(fig: dict, kind: str) -> str:
        return (f"{fig[f'speed.no_online.{kind}_ratio']:.2f} and "
                f"{fig[f'speed.lightgbm.{kind}_ratio']:.2f}")

    def paired(fig: dict, prefix: str = "") -> str:
        key = prefix + "paired_trades.no_online.diff"
        return f"{fig[key]:+.2f} [{fig[key + '_ci_low']:+.2f}, {fig[key + '_ci_high']:+.2f}]"

    def trades(fig: dict, model: str, key: str, fmt: str = ".2f") -> str:
        return format(fig[f"trades.{model}.{key}"], fmt)

    def ablation(fig: dict, row: str, key: str, fmt: str) -> str:
        return format(fig[f"dev.ablation.{row}.{key}"], fmt)

    seed3 = seeds[2]
    return [
        f"profit in points: 1h dev {paired(dev1h, 'dev.')} "
        f"({ablation(dev1h, 'full', 'trades', '.0f')} trades, "
        f"{ablation(dev1h, 'full', 'profit_pct', '+.2f')} % against "
        f"{ablation(dev1h, 'no_online', 'trades', '.0f')}, "
        f"{ablation(dev1h, 'no_online', 'profit_pct', '+.2f')} %), 5m dev {paired(dev5m, 'dev.')}",
        f"IC over the 3 days after the flip {flip['flip.full.ic_after']:+.3f} against the frozen "
        f"model's {flip['flip.frozen.ic_after']:+.3f}; its trades "
        f"{trades(flip, 'full', 'profit_pct', '+.2f')} % against "
        f"{trades(flip, 'frozen', 'profit_pct')} % frozen and "
        f"{trades(flip, 'no_online', 'profit_pct')} % without per-candle learning, full minus the "
        f"latter {flip['paired_trades.no_online.diff']:+.2f} points "
        f"[{flip['paired_trades.no_online.diff_ci_low']:+.2f}, "
        f"{flip['paired_trades.no_online.diff_ci_high']:+.2f}] over 7 days",
        f"optional filters on, LightGBM loses {-grid_lgbm['profit_pct']:.2f} % "
        f"({grid_lgbm['trades']:.0f} trades) and SelfLearning {-grid_sl['profit_pct']:.2f} % "
        f"({grid_sl['trades']:.0f})",
        f"the median of {rounds} runs takes {med1h['speed.no_online.wall_ratio']:.2f} times the "
        f"model without per-candle learning and {med1h['speed.lightgbm.wall_ratio']:.2f} of "
        f"LightGBM at 1h (single runs {spread(med1h, 'no_online', ' to ')}, "
        f"{spread(med1h, 'lightgbm', ' to ')}), {med5m['speed.no_online.wall_ratio']:.2f} at 5m "
        f"({spread(med5m, 'no_online', ' to ')}; LightGBM's "
        f"{m5['speed.lightgbm.wall_ratio']:.2f} from one run); {ratios(null, 'wall')} on the 5m "
        "random walks, one run",
        f"give {median(med1h, 'no_online')} and {median(med1h, 'lightgbm')} at 1h and "
        f"{median(med5m, 'no_online')} at 5m",
        f"takes {h1['speed.no_online.wall_ratio']:.2f} times the one without per-candle learning "
        f"and {h1['speed.lightgbm.wall_ratio']:.2f} of LightGBM's once the XLA programs are "
        f"cached ({wall(h1, 'full')} / {wall(h1, 'no_online')} / {wall(h1, 'lightgbm')} s",
        f"(`--cold`), {ratios(cold, 'wall')} ({wall(cold, 'full')} / {wall(cold, 'no_online')} "
        f"/ {wall(cold, 'lightgbm')} s wall; CPU {ratios(cold, 'cpu')}:",
        f"the 5m holdout {ratios(m5, 'wall')} (CPU {ratios(m5, 'cpu')}).",
        f"gave {ratios(rerun, 'wall')} ({wall(rerun, 'full')} / {wall(rerun, 'no_online')} / "
        f"{wall(rerun, 'lightgbm')} s wall:",
        f"the previous release's code beside it {ratios(rerun_old, 'wall')} (`docs",
        f"the ratio to LightGBM above a third; once cached it is "
        f"{h1['speed.lightgbm.wall_ratio']:.2f}.",
        f"5m: a difference of {m5['ablation.no_online.diff']:+.4f} with an interval around 0",
        f"1h holdout {paired(h1)} ({trades(h1, 'self_learning', 'trades', '.0f')} trades each, "
        f"{trades(h1, 'self_learning', 'profit_pct')} % against "
        f"{h1['ablation.no_online.profit_pct']:.2f} %), 5m holdout {paired(m5)}",
        f"the 1h holdout trades lose {-h1['trades.self_learning.profit_pct']:.2f} % "
        f"({trades(h1, 'self_learning', 'trades', '.0f')} trades, max drawdown "
        f"{trades(h1, 'self_learning', 'max_drawdown_pct')} %, against buy-and-hold's "
        f"{trades(h1, 'buy_and_hold', 'profit_pct')} % and "
        f"{trades(h1, 'buy_and_hold', 'max_drawdown_pct')} %), LightGBM through the same rules "
        f"{-h1['trades.lightgbm.profit_pct']:.2f} %",
        f"On the 1h holdout it traded on most pairs (more than half) in "
        f"{weekly['full.weeks_most_pairs']:.0f} of {weekly['full.weeks']:.0f} weeks (LightGBM "
        f"{weekly['lightgbm.weeks_most_pairs']:.0f}; `benchmarks/weekly_pairs.py` on the kept run: "
        f"`docs/results/weekly/usdt-1h.json`)",
        f"The 1h entries predicted {trades(h1, 'self_learning', 'entry_pred_pct', '+.2f')} % and "
        f"realized {trades(h1, 'self_learning', 'entry_realized_pct', '+.2f')} %",
        f"IC {btc['mean.self_learning.ic']:+.3f}, above LightGBM's",
        f"its {trades(btc, 'self_learning', 'trades', '.0f')} trades lose "
        f"{-btc['trades.self_learning.profit_pct']:.2f} % after fees while buy-and-hold made "
        f"{trades(btc, 'buy_and_hold', 'profit_pct')} %",
        ", ".join(f"{s['paired_trades.lightgbm.diff']:+.1f}" for s in seeds[:2])
        + f" and {seeds[2]['paired_trades.lightgbm.diff']:+.1f} points",
        f"({seed3['mean.lightgbm.vs_naive']:+.3f} [{seed3['mean.lightgbm.vs_naive_ci_low']:+.3f}, "
        f"{seed3['mean.lightgbm.vs_naive_ci_high']:+.3f}])",
    ]


def test_readme_prose_figures_match_the_committed_results():
    """The speed, holdout-trade, 2018, no-edge-seed, dev per-candle-learning, holdout filter,
    flip, trading-rules, shorts, daily-retrain and basket-share figures the README's prose
    quotes are those of docs/results (re-measure, then update the prose: this test names what
    drifted)."""
    text = " ".join(readme.README.read_text().split())
    phrases = (prose_figures() + trading_rules_figures() + dev_study_figures()
               + flip_seed_figures() + hold_figures())
    missing = [phrase for phrase in phrases if phrase not in text]
    assert not missing, f"README.md prose differs from docs/results: {missing}"


def test_filter_grid_reran_the_published_1h_holdout_trades():
    """The strategy-grid files re-ran the predictions of docs/results/quality-usdt-1h.json's
    run: with the strategy's defaults they give its SelfLearning and LightGBM trades."""
    h1 = _results("quality-usdt-1h.json")
    for run, model in (("full", "self_learning"), ("lightgbm", "lightgbm")):
        defaults = _results(f"strategy-grid/usdt-1h-holdout-{run}-defaults.json")["rows"][""]
        assert {k: defaults[k] for k in ("trades", "profit_pct", "max_drawdown_pct")} == {
            k: h1[f"trades.{model}.{k}"] for k in ("trades", "profit_pct", "max_drawdown_pct")}


@pytest.mark.parametrize("name", ["usdt-1h", "usdt-5m", "null"])
def test_weekly_files_read_the_published_runs(name):
    """docs/results/weekly/<name>.json read the kept folder of docs/results/quality-<name>.json's
    run: its SelfLearning, LightGBM and no_online trades are that file's."""
    weekly, quality = _results(f"weekly/{name}.json"), _results(f"quality-{name}.json")
    assert weekly["meta"]["windows"] == quality["meta"]["windows"]
    for run, key in (("full", "trades.self_learning"), ("lightgbm", "trades.lightgbm"),
                     ("no_online", "ablation.no_online")):
        assert weekly[f"{run}.trades"] == quality[f"{key}.trades"]


@pytest.mark.parametrize(("study", "run", "model", "quality"), [
    ("usdt-1h-dev", "full", "self_learning", "quality-usdt-1h-dev"),
    ("usdt-1h-dev", "lightgbm", "lightgbm", "quality-usdt-1h-dev"),
    ("usdt-5m-dev", "full", "self_learning", "quality-usdt-5m-dev-no_online"),
])
def test_entry_study_read_the_dev_runs_of_docs_results(study, run, model, quality):
    """The entry-study files read kept folders whose default-rule trades, summed over the dev
    windows, are those of docs/results/dev's quality runs on the same code."""
    rows = [r for r in _results(f"entry-study/{study}.json")["results"]
            if (r["run"], r["params"]) == (run, "defaults")]
    dev = _results(f"dev/{quality}.json")
    assert len(rows) == len(dev["meta"]["windows"])
    assert sum(r["trades"] for r in rows) == dev[f"dev.trades.{model}.trades"]
    assert round(sum(r["profit_pct"] for r in rows), 2) == round(
        dev[f"dev.trades.{model}.profit_pct"], 2)


def figures(sl_low, sl_high, vs_naive=(0.01, 0.02), vs_lgbm=(-0.01, 0.02)):
    return {"mean.self_learning.ic_ci_low": sl_low, "mean.self_learning.ic_ci_high": sl_high,
            "mean.naive.ic_ci_low": -0.01, "mean.naive.ic_ci_high": 0.01,
            "mean.self_learning.vs_naive_ci_low": vs_naive[0],
            "mean.self_learning.vs_naive_ci_high": vs_naive[1],
            "mean.self_learning.vs_lightgbm_ci_low": vs_lgbm[0],
            "mean.self_learning.vs_lightgbm_ci_high": vs_lgbm[1]}


@pytest.mark.parametrize(("fig", "says"), [
    (figures(0.01, 0.05), "IC interval above 0: SelfLearning; SelfLearning beats the yardstick;"
                          " SelfLearning is not distinguishable from LightGBM."),
    (figures(-0.02, 0.03, (-0.03, -0.01)),
     "no model's IC interval lies above 0 (no measurable edge); SelfLearning is below the "
     "yardstick; SelfLearning is not distinguishable from LightGBM."),
])
def test_verdict_follows_the_intervals(fig, says):
    assert readme.verdict(fig, "") == says


def test_rewrite_replaces_only_the_marked_section():
    text = f"intro\n{readme.BEGIN}\nold\n{readme.END}\noutro\n"
    assert readme.rewrite(text, "new\n") == f"intro\n{readme.BEGIN}\nnew\n{readme.END}\noutro\n"
    with pytest.raises(SystemExit, match="lacks the markers"):
        readme.rewrite("no markers", "new\n")


def test_ablation_table_carries_each_rows_trades_and_full_minus_row_trade_profit():
    """The ablation rows get their trades beside the IC, and full minus the row's daily trade
    profit summed over days with its interval ("-" for files measured before it existed)."""
    fig = {"ablation.full.ic": 0.1, "ablation.full.trades": 700.0,
           "ablation.full.profit_pct": 49.4, "ablation.full.max_drawdown_pct": 10.1,
           "ablation.full.entry_pred_pct": 0.5, "ablation.full.entry_realized_pct": 0.25,
           "ablation.no_online.ic": 0.1, "ablation.no_online.diff": 0.0,
           "ablation.no_online.trades": 500.0, "ablation.no_online.profit_pct": 18.8,
           "paired_trades.no_online.diff": 30.6, "paired_trades.no_online.diff_ci_low": 8.2,
           "paired_trades.no_online.diff_ci_high": 57.3}
    assert readme.ablation_line(fig, "", "full") == \
        "| full | +0.1000 |  | 700 | 49.40 | 10.10 | 0.500 / 0.250 |  |"
    assert readme.ablation_line(fig, "", "no_online") == \
        ("| no_online | +0.1000 | +0.0000 [-, -] | 500 | 18.80 | - | - | "
         "+30.60 [+8.20, +57.30] |")
    del fig["paired_trades.no_online.diff"]
    assert readme.ablation_line(fig, "", "no_online").endswith("| - | - | - |")


def test_blocks_follow_the_order_and_the_2018_pairs_are_not_called_a_holdout():
    """The README shows the control and today's markets before the 2018 pairs, and the 2018
    block says those pairs are where earlier releases were developed, not a plain holdout."""
    def fig(name):
        return {"meta": {"set": name, "timeframe": "5m", "pairs": ["A/BTC"], "date": "d",
                         "commit": "c", "command": "x",
                         "windows": {"w": ["20180117-20180130", "holdout"]}}}
    names = ["btc-2018", "other", "usdt-5m", "scenario-null", "usdt-1h"]
    got = [f["meta"]["set"] for f in readme.in_order([fig(n) for n in names])]
    assert got == ["scenario-null", "usdt-1h", "usdt-5m", "btc-2018", "other"]
    ic = {"mean.self_learning.ic": 0.03, **figures(0.01, 0.05)}
    old = "\n".join(readme.file_block({**fig("btc-2018"), **ic}))
    assert "releases before issue 19 were developed on these pairs" in old
    assert "never chosen on" not in old
    plain = "\n".join(readme.file_block({**fig("usdt-5m"), **ic}))
    assert "Holdout windows (reported, never chosen on)" in plain
