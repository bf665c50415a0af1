"""From candles to learning samples: pure array preparation plus a small candle history.

A `Candles` block is what the learner is given: timestamps (int seconds, UTC), OHLCV and the
FreqAI feature matrix, row-aligned. `prepare` turns it into windows, features and targets with
masks saying which rows may be predicted (`input_ok`) and learned (`target_ok`).

Windows and targets run over the sequence of *observed* candles (features.observed_candles):
a candle where nothing traded (freqtrade fills closed-market hours and outages that way), a
broken candle or a missing timestamp is not a market observation, so it is neither predicted
nor learned, and it does not break the windows around it: Monday's first hourly forex
candle has the last W observed candles as its window, reaching back into Friday, and its
target looks at the next H observed candles. Nor is a row whose timestamp repeats (or goes
back behind) an earlier row's: a candle is stepped once. A row with a non-finite feature is
observed (its candle is part of other rows' windows) but is itself skipped; so is one beyond
float32's range, which the networks compute in. Skipped rows are counted by reason
(`skip_counts`), never fed to a network.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from self_learning.candles import features as fx

MIN_FIT_SAMPLES = 64  # usable samples (window and matured target) a first training needs


class InsufficientDataError(ValueError):
    """Too few usable samples to train from scratch (e.g. a pair listed less than
    train_period_days ago): the pair is not trained yet, which is not a failure."""


@dataclass(frozen=True)
class Candles:
    ts: np.ndarray        # (n,) int64 seconds, increasing (a repeat is skipped, once)
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
    observed: np.ndarray   # (n,) bool: a market observation (features.observed_candles)


def prepare(candles: Candles, window: int, horizon: int, proxy: bool = True) -> Samples:
    observed = fx.observed_candles(candles.ohlcv) & ~repeated_timestamps(candles.ts)
    if observed.all():  # the usual case, and every live candle's: no copies
        return _prepare_observed(candles, window, horizon, proxy, observed)
    s = _prepare_observed(candles.rows(observed), window, horizon, proxy, observed[observed])
    n = len(candles)

    def expand(values):
        if values is None:
            return None
        out = np.zeros((n, *values.shape[1:]), dtype=values.dtype)
        out[observed] = values
        return out

    return Samples(ts=candles.ts, windows=expand(s.windows), features=expand(s.features),
                   targets=expand(s.targets), proxy=expand(s.proxy),
                   input_ok=expand(s.input_ok), target_ok=expand(s.target_ok),
                   observed=observed)


def _prepare_observed(candles: Candles, window: int, horizon: int, proxy: bool,
                      observed: np.ndarray) -> Samples:
    """`prepare` of candles that are all observed (finite, positive, ordered, traded)."""
    windows = fx.market_windows(fx.candle_channels(candles.ohlcv), window)
    feats = np.asarray(candles.features, dtype=np.float64)
    # Rows without a full window are NaN in `windows`; values beyond float32 count as NaN.
    input_ok = fx.representable(windows) & fx.representable(feats)
    tgt = fx.targets(candles.ohlcv, horizon)
    target_ok = input_ok & fx.representable(tgt)
    trailing = fx.trailing_excursions(candles.ohlcv, horizon) if proxy else None
    # Rows that are ok are finite by construction; the others become zeros.
    clean = lambda a, ok: np.where(ok[:, None], a, 0.0).astype(np.float32)  # noqa: E731
    return Samples(
        ts=candles.ts,
        windows=clean(windows, input_ok),
        features=clean(feats, input_ok),
        targets=clean(tgt, target_ok),
        proxy=(None if trailing is None
               else clean(trailing, input_ok & fx.representable(trailing))),
        input_ok=input_ok,
        target_ok=target_ok,
        observed=observed,
    )


@dataclass(frozen=True)
class SkipCounts:
    """Why rows could not be predicted or learned, one count per reason."""

    indicator_warmup: int = 0  # non-finite features at the start of the block
    window_warmup: int = 0     # fewer than window_candles observed candles so far
    nan_feature: int = 0       # a non-finite (or beyond float32) feature later on
    no_trade: int = 0          # nothing traded (filled by freqtrade, closed market)
    broken: int = 0            # impossible OHLCV values (incl. beyond float32's range)
    duplicate: int = 0         # a timestamp not later than an earlier row's (stepped once)

    @property
    def total(self) -> int:
        return sum(getattr(self, f.name) for f in fields(self))

    def describe(self) -> str:
        """e.g. '24 indicator warm-up, 7 no-trade candles' (reasons that occurred only)."""
        labels = {"indicator_warmup": "indicator warm-up", "window_warmup": "window warm-up",
                  "nan_feature": "NaN feature", "no_trade": "no-trade candle",
                  "broken": "broken candle", "duplicate": "repeated-timestamp candle"}
        counts = {labels[f.name]: getattr(self, f.name) for f in fields(self)}
        return ", ".join(f"{n} {label}{'s' if label.endswith('candle') and n > 1 else ''}"
                         for label, n in counts.items() if n)


def skip_counts(block: Candles, s: Samples, start: int, window: int) -> SkipCounts:
    """Reasons for the rows of `block` that are not `input_ok`, where `s` was prepared from
    the block preceded by `start` rows of context (CandleHistory)."""
    rows = slice(start, start + len(block))
    skipped = ~s.input_ok[rows]
    observed = s.observed[rows]
    broken = fx.broken_candles(block.ohlcv)
    repeated = repeated_timestamps(s.ts)[rows] & ~broken
    finite = fx.representable(block.features)
    leading = np.cumsum(finite) == 0  # before the block's first row with every feature
    seen = np.cumsum(s.observed)[rows]  # observed candles up to and including each row
    short = observed & ~leading & (seen < window)
    late_nan = observed & ~leading & ~short & ~finite
    count = lambda mask: int((skipped & mask).sum())  # noqa: E731
    known = count(observed & leading) + count(short) + count(late_nan)
    return SkipCounts(
        indicator_warmup=count(observed & leading), window_warmup=count(short),
        nan_feature=count(late_nan), no_trade=count(~observed & ~broken & ~repeated),
        duplicate=count(repeated),
        # Observed rows skipped for no reason above hold a non-finite window value, which
        # only extreme candle values produce: counted as broken.
        broken=count(broken) + int((skipped & observed).sum()) - known,
    )


def repeated_timestamps(ts: np.ndarray) -> np.ndarray:
    """True where a row's timestamp is not later than every earlier row's (a duplicated
    candle, or one out of order): only the first row of a timestamp is a candle to step."""
    ts = np.asarray(ts)
    out = np.zeros(len(ts), dtype=bool)
    if len(ts) > 1:
        out[1:] = ts[1:] <= np.maximum.accumulate(ts)[:-1]
    return out


class CandleHistory:
    """The last `keep` observed candles seen, so a block arriving alone still gets its full
    window and its matured targets."""

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

    def remember(self, candles: Candles, observed: np.ndarray) -> None:
        """Keep the last `keep` observed candles of `candles` (`observed` marks them): a
        weekend of filled candles must not push the window's real candles out."""
        if not observed.all():
            candles = candles.rows(observed)
        self._candles = candles.rows(slice(max(len(candles) - self.keep, 0), None))
