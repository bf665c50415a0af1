"""Markdown tables and JSON summaries of benchmarks/edge_study.py's scores."""

from __future__ import annotations

import edge_scoring as es


def paired(a: dict, b: dict, window: str) -> es.Score:
    return a["scores"][window].minus(b["scores"][window])


def table(title: str, results: dict, ref: str | None, windows=("DEV", "HOLDOUT"),
          trade: bool = False) -> None:
    print(f"\n### {title}\n")
    head = " | ".join(f"{w} IC [95 %]" for w in windows)
    diff = " | ".join(f"{w} minus {ref}" for w in windows) if ref else ""
    cols = ["candidate", head] + ([diff] if ref else []) + (
        ["HOLDOUT entries/wk | mean net"] if trade else [])
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * (1 + len(windows) * (2 if ref else 1) + (2 if trade else 0)))
    for name, r in results.items():
        if name.startswith("_"):
            continue
        cells = [es.fmt(r["scores"][w]) for w in windows]
        if ref:
            cells += [es.fmt(paired(r, results[ref], w)) if name != ref else "-"
                      for w in windows]
        if trade:
            t = r["trade"]
            cells += [f"{t['entries_per_week']:.0f}", f"{100 * t['mean_net']:+.3f} %"]
        print(f"| {name} | " + " | ".join(cells) + " |")


def summary(score: es.Score) -> dict[str, float]:
    return {"ic": round(score.ic, 5), "se": round(score.se, 5)}
