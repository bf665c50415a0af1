"""Generated frames on disk, as freqtrade reads them: file names and atomic feather writes."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd


def pair_filename(pair: str, timeframe: str) -> str:
    """freqtrade's feather name: 'BTC/USDT', '5m' -> 'BTC_USDT-5m.feather'."""
    return f"{pair.replace('/', '_')}-{timeframe}.feather"


def write_feather(frame: pd.DataFrame, path: Path) -> None:
    """Atomic write in freqtrade's feather format (lz4, level 9)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.reset_index(drop=True).to_feather(partial, compression="lz4", compression_level=9)
    os.replace(partial, path)
