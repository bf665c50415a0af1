"""The README's quality section, generated from benchmarks/quality.py's JSON files.

    .venv/bin/python benchmarks/readme_quality.py            # rewrites README.md in place
    .venv/bin/python benchmarks/readme_quality.py --check    # exit 1 if README.md differs

Reads every `docs/results/quality-*.json` (the `--out` files of quality.py runs, one JSON
object: `meta` plus the figures) and replaces the text between the README's markers
`<!-- quality:begin -->` and `<!-- quality:end -->` with one block per file: what ran (set,
windows, commit, date, command), the headline IC of each model with its 95 % interval, the
paired differences, the trades beside buy-and-hold, the ablation, and a verdict sentence
computed from the intervals (nothing is typed by hand; tests/test_readme_quality.py checks
the README matches its files).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "docs" / "results"
BEGIN, END = "<!-- quality:begin -->", "<!-- quality:end -->"
MODELS = (("self_learning", "SelfLearning"), ("lightgbm", "LightGBM"),
          ("naive", "naive yardstick"))
# The blocks' order (other sets after these, by file name) and the titles of the sets whose
# windows are not plain holdout windows.
ORDER = ("scenario-null", "usdt-1h", "usdt-5m", "btc-2018")
TITLES = {
    "scenario-null": "No-edge control (generated random walks: every interval should cover 0)",
    "btc-2018": "Another market, reported only (January 2018 BTC-quoted altcoins: releases "
                "before issue 19 were developed on these pairs; today's settings were chosen "
                "on the 2025 USDT dev windows, never here)",
}


def num(value, digits: int = 4, sign: bool = True) -> str:
    if value is None:
        return "-"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def with_interval(fig: dict, key: str) -> str:
    if fig.get(key) is None:
        return "-"
    return (f"{num(fig[key])} [{num(fig.get(key + '_ci_low'))}, "
            f"{num(fig.get(key + '_ci_high'))}]")


def verdict(fig: dict, prefix: str) -> str:
    """One sentence from the intervals: which models' ICs lie above 0, and whether
    SelfLearning beats the yardstick and LightGBM."""
    above = [label for key, label in MODELS
             if (fig.get(f"{prefix}mean.{key}.ic_ci_low") or -1) > 0]
    parts = [f"IC interval above 0: {', '.join(above)}" if above
             else "no model's IC interval lies above 0 (no measurable edge)"]
    for other, label in (("naive", "the yardstick"), ("lightgbm", "LightGBM")):
        low = fig.get(f"{prefix}mean.self_learning.vs_{other}_ci_low")
        high = fig.get(f"{prefix}mean.self_learning.vs_{other}_ci_high")
        if low is None or high is None:
            continue
        word = ("beats" if low > 0 else "is below" if high < 0
                else "is not distinguishable from")
        parts.append(f"SelfLearning {word} {label}")
    return "; ".join(parts) + "."


def group_block(fig: dict, prefix: str, title: str) -> list[str]:
    if fig.get(f"{prefix}mean.self_learning.ic") is None and \
            fig.get(f"{prefix}flip.full.ic_after") is None:
        return []
    lines = [f"**{title}.** {verdict(fig, prefix)}", "",
             "| model | IC [95 % interval] | minus yardstick | minus LightGBM | trades | "
             "profit % | max DD % | entries: predicted / realized % |",
             "|---|---|---|---|---|---|---|---|"]
    for key, label in MODELS:
        if fig.get(f"{prefix}mean.{key}.ic") is None:
            continue
        t = lambda k, d=2, m=key: num(fig.get(f"{prefix}trades.{m}.{k}"), d, False)  # noqa: E731
        entries = (f"{t('entry_pred_pct', 3)} / {t('entry_realized_pct', 3)}"
                   if fig.get(f"{prefix}trades.{key}.trades") is not None else "")
        trades = (f"{t('trades', 0)} | {t('profit_pct')} | {t('max_drawdown_pct')}"
                  if fig.get(f"{prefix}trades.{key}.trades") is not None else " | | ")
        vs_naive = with_interval(fig, f"{prefix}mean.{key}.vs_naive") if key != "naive" else ""
        vs_lgbm = (with_interval(fig, f"{prefix}mean.{key}.vs_lightgbm")
                   if key == "self_learning" else "")
        lines.append(f"| {label} | {with_interval(fig, f'{prefix}mean.{key}.ic')} | "
                     f"{vs_naive} | {vs_lgbm} | {trades} | {entries} |")
    hold = f"{prefix}trades.buy_and_hold."
    if fig.get(hold + "profit_pct") is not None:
        lines.append(f"| buy-and-hold (equal weight) | | | | | "
                     f"{num(fig[hold + 'profit_pct'], 2, False)} | "
                     f"{num(fig[hold + 'max_drawdown_pct'], 2, False)} | |")
    rows = sorted({k[len(prefix):].split(".")[1] for k in fig
                   if k.startswith(f"{prefix}ablation.") and k.endswith(".diff")})
    if rows:
        lines += ["", "| ablation row | IC | row minus full [95 % interval] | trades | profit % | "
                  "max DD % | entries: predicted / realized % | full minus row: trade profit, "
                  "points [95 % interval] |", "|---|---|---|---|---|---|---|---|"]
        lines += [ablation_line(fig, prefix, r) for r in ["full", *rows]]
    return [*lines, ""]


def ablation_line(fig: dict, prefix: str, row: str) -> str:
    """IC and its difference from full, the row's trades, and full minus the row's trade
    profit summed over days with its block-bootstrap interval (quality_trades.paired_daily)."""
    a = f"{prefix}ablation.{row}."
    t = lambda k, d=2: num(fig.get(a + k), d, False)  # noqa: E731
    entries = (f"{t('entry_pred_pct', 3)} / {t('entry_realized_pct', 3)}"
               if fig.get(a + "entry_pred_pct") is not None else "-")
    diff = ("" if row == "full" else with_interval(fig, a + "diff"))
    paired = f"{prefix}paired_trades.{row}.diff"
    trade_diff = ("" if row == "full" else "-" if fig.get(paired) is None else
                  f"{num(fig[paired], 2)} [{num(fig.get(paired + '_ci_low'), 2)}, "
                  f"{num(fig.get(paired + '_ci_high'), 2)}]")
    return (f"| {row} | {num(fig.get(a + 'ic'))} | {diff} | {t('trades', 0)} | "
            f"{t('profit_pct')} | {t('max_drawdown_pct')} | {entries} | {trade_diff} |")


def flip_block(fig: dict) -> list[str]:
    names = sorted({k.split(".")[1] for k in fig if k.startswith("flip.")})
    lines = ["| model | IC before the flip | IC over the 3 days after |", "|---|---|---|"]
    lines += [f"| {n} | {with_interval(fig, f'flip.{n}.ic_before')} | "
              f"{with_interval(fig, f'flip.{n}.ic_after')} |" for n in names]
    return [*lines, ""]


def file_block(fig: dict) -> list[str]:
    meta = fig["meta"]
    windows = meta["windows"]
    lines = [f"#### {meta['set']} ({meta['timeframe']}, {len(meta['pairs'])} pairs: "
             f"{', '.join(meta['pairs'])})", "",
             f"Measured {meta['date']} on commit `{meta['commit']}`; windows "
             + ", ".join(f"{name} {span} ({role})" for name, (span, role) in windows.items())
             + "; command:", "", "```bash", f".venv/bin/python {meta['command']}", "```", ""]
    if any(k.startswith("flip.") for k in fig):
        return lines + flip_block(fig)
    title = TITLES.get(meta["set"]) or ("Holdout windows (reported, never chosen on)"
                                        if any(r == "holdout" for _, r in windows.values())
                                        else "All windows")
    lines += group_block(fig, "", title)
    lines += group_block(fig, "dev.", "Dev windows (where settings are chosen)")
    return lines


def in_order(figs: list[dict]) -> list[dict]:
    """ORDER's sets first, in that order, then the others as given (by file name)."""
    def rank(fig: dict) -> int:
        name = fig["meta"]["set"]
        return ORDER.index(name) if name in ORDER else len(ORDER)
    return sorted(figs, key=rank)


def render(paths: list[Path]) -> str:
    blocks: list[str] = []
    for fig in in_order([json.loads(path.read_text()) for path in paths]):
        blocks += file_block(fig)
    return "\n".join(blocks).rstrip() + "\n"


def rewrite(text: str, section: str) -> str:
    head, begin, rest = text.partition(BEGIN)
    _, end, tail = rest.partition(END)
    if not begin or not end:
        raise SystemExit(f"README.md lacks the markers {BEGIN} ... {END}")
    return f"{head}{BEGIN}\n{section}{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--check", action="store_true", help="exit 1 if README.md is not current")
    args = p.parse_args(argv)
    paths = sorted(RESULTS.glob("quality-*.json"))
    text = README.read_text()
    new = rewrite(text, render(paths))
    if args.check:
        if new != text:
            print("README.md's quality section differs from docs/results/quality-*.json: run "
                  ".venv/bin/python benchmarks/readme_quality.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    print(f"README.md quality section rewritten from {len(paths)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
