"""From candles to learning samples: pure array preparation plus a small candle history.

A `Candles` block is what the learner is given: timestamps (int seconds, UTC), OHLCV and the
FreqAI feature matrix, row-aligned. `prepare` turns it into windows, features and targets with
masks saying which rows may be predicted (`input_ok`) and learned (`target_ok`). A gap in the
timestamps, a broken candle or a non-finite feature makes the affected rows unusable; they are
skipped and counted, never fed to a network.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from self_learning import features as fx


@dataclass(frozen=True)
class Candles:
    ts: np.ndarray        # (n,) int64 seconds, strictly increasing
    ohlcv: np.ndarray     # (n, 5) float64
    features: np.ndarray  # (n, F) float64, may hold NaN

    def __post_init__(self):
        n = len(self.ts)
        if self.ohlcv.shape != (n, 5) or len(self.features) != n:
            raise ValueError(
                f"Candles arrays disagree: ts {n}, ohlcv {self.ohlcv.shape}, "
                f"features {self.features.shape}"
            )

    def __len__(self) -> int:
        return len(self.ts)

    def rows(self, mask_or_slice) -> Candles:
        return Candles(self.ts[mask_or_slice], self.ohlcv[mask_or_slice],
                       self.features[mask_or_slice])

    @staticmethod
    def concat(first: Candles, second: Candles) -> Candles:
        return Candles(np.concatenate([first.ts, second.ts]),
                       np.concatenate([first.ohlcv, second.ohlcv]),
                       np.concatenate([first.features, second.features]))


@dataclass(frozen=True)
class Samples:
    ts: np.ndarray
    windows: np.ndarray    # (n, W*4) float32, zeros where not input_ok
    features: np.ndarray   # (n, F) float32, zeros where not input_ok
    targets: np.ndarray    # (n, 3) float32, zeros where not target_ok
    proxy: np.ndarray | None  # (n, 3) float32 trailing excursions (self-supervision), if asked
    input_ok: np.ndarray   # (n,) bool
    target_ok: np.ndarray  # (n,) bool (implies input_ok)


def contiguous(ts: np.ndarray, timeframe_s: int) -> np.ndarray:
    """False for a candle that does not directly follow the previous one (a gap)."""
    ok = np.ones(len(ts), dtype=bool)
    ok[1:] = np.diff(ts) == timeframe_s
    return ok


def prepare(candles: Candles, window: int, horizon: int, timeframe_s: int,
            proxy: bool = True) -> Samples:
    candle_ok = fx.valid_candles(candles.ohlcv) & contiguous(candles.ts, timeframe_s)
    windows = fx.market_windows(fx.candle_channels(candles.ohlcv), window)
    feats = np.asarray(candles.features, dtype=np.float64)
    input_ok = (
        fx.window_valid(candle_ok, window)
        & np.isfinite(windows).all(axis=1)
        & np.isfinite(feats).all(axis=1)
    )
    tgt = fx.targets(candles.ohlcv, horizon)
    target_ok = input_ok & fx.target_valid(candle_ok, horizon) & np.isfinite(tgt).all(axis=1)
    trailing = fx.trailing_excursions(candles.ohlcv, horizon) if proxy else None
    # Rows that are ok are finite by construction; the others become zeros.
    clean = lambda a, ok: np.where(ok[:, None], a, 0.0).astype(np.float32)  # noqa: E731
    return Samples(
        ts=candles.ts,
        windows=clean(windows, input_ok),
        features=clean(feats, input_ok),
        targets=clean(tgt, target_ok),
        proxy=(None if trailing is None
               else clean(trailing, input_ok & np.isfinite(trailing).all(axis=1))),
        input_ok=input_ok,
        target_ok=target_ok,
    )


class CandleHistory:
    """The last `keep` candles seen, so a block arriving alone still gets its full window."""

    def __init__(self, keep: int):
        self.keep = int(keep)
        self._candles: Candles | None = None

    def with_context(self, block: Candles) -> tuple[Candles, int]:
        """`block` preceded by remembered candles older than its first row; returns the
        combined candles and the index where `block` starts in them."""
        if self._candles is None or len(block) == 0:
            return block, 0
        older = self._candles.rows(self._candles.ts < block.ts[0])
        return Candles.concat(older, block), len(older)

    def remember(self, candles: Candles) -> None:
        self._candles = candles.rows(slice(max(len(candles) - self.keep, 0), None))
