import logging
from datetime import datetime, timedelta

import numpy as np
import talib.abstract as ta
from freqtrade.enums import RunMode
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_seconds
from freqtrade.persistence import Trade
from freqtrade.strategy import (
    BooleanParameter,
    DecimalParameter,
    IntParameter,
    IStrategy,
    stoploss_from_absolute,
    stoploss_from_open,
)
from pandas import DataFrame, Series

from self_learning import startup_checks
from self_learning.config import ConfigError, label_period_candles
from self_learning.strategy.entry_record import (
    ENTRY_RECORD_COLUMNS,
    ENTRY_RECORD_SIGNALS,
    EntryRecordLine,
    EntryRecordLog,
    matured_signals,
    record_of,
)
from self_learning.strategy.hyperopt_space import (
    ENTRY_THRESHOLD_RANGE,
    THRESHOLD_DECIMALS,
    TOP_K_RANGE,
    threshold_range,
    top_k_range,
)
from self_learning.strategy.market_features import (
    BasketCache,
    basket_of,
    btc_pair,
    closes_by_date,
    frames_key,
    market_windows,
    pair_columns,
)
from self_learning.strategy.strategy_columns import (
    EntryRules,
    add_target_labels,
    among_top,
    band_levels,
    band_position,
    calibration_candles,
    drawdown_protection,
    entry_filters,
    entry_signal_on,
    expected_return,
    hold_candles,
    on_price_grid,
    over_observed,
    ratio,
    roi_table,
    round_trip,
    scoreboard_or_nan,
    z_candles,
)

logger = logging.getLogger(__name__)

# Bounds of the model-placed stop, as a ratio of the reference close (see custom_stoploss):
# the widest is the strategy's `stoploss`, STOP_WIDEST unless the config, a hyperopt epoch or
# a saved parameter file sets another.
STOP_WIDEST = -0.15
STOP_TIGHTEST = -0.005
TOP_K_DEFAULT = 0  # every pair of the whitelist
# The horizon of the class's own `timeframe` (5m, as config.5m.json), for a config without
# FreqAI (unit tests, list-strategies); config.json's 1h setup brings its own (H = 4).
DEFAULT_HORIZON = 12
RULES = EntryRules()  # the entry defaults (self_learning.strategy.strategy_columns)
# Run modes whose entry signals are logged as they mature (entry_record): not hyperopt (every
# epoch re-analyses) nor plots and analyses.
ENTRY_LOG_MODES = (RunMode.LIVE, RunMode.DRY_RUN, RunMode.BACKTEST)


def label_horizon(freqai: dict) -> int:
    """H, the horizon of the targets and of the strategy's windows in candles: FreqAI's
    `freqai.feature_parameters.label_period_candles`, checked; an OperationalException naming
    the key when it is missing or wrong."""
    try:
        return label_period_candles(freqai)
    except ConfigError as err:
        raise OperationalException(f"{err}. Fix it in your config file.") from None


class SelfLearningStrategy(IStrategy):
    """
    Long-only spot strategy trading the predictions of the SelfLearningModel FreqAI model.

    Every feature is a stationary ratio (no raw prices). The model predicts, per candle, the
    mean return of the next H candles (`&-s_close`) and the expected up/down excursion
    (`&-liq_up`, `&-liq_down`); it also reports how unusual the market is (`&-novelty`) and
    how often it has learned (`&-training_counter`). Entries need a usable, non-novel
    prediction above `entry_threshold` (the round trip of fees plus a margin; the z-score, IC
    and calibrated fee filters are optional, off by default); a trade is held
    for the H candles the prediction was about (time exit), or less on a predicted reversal or
    the ROI table; the stop sits far below the predicted downward excursion (a guard against
    crashes, not a target: a stop inside the 1h band stopped most trades at a loss,
    docs/hourly.md).

    Needs in the config (config.5m.json below; config.json is the 1h setup: "1h", H = 4,
    train_period_days 30, backtest_period_days 7, include_timeframes ["1h"]):
        "timeframe": "5m",
        "freqaimodel": "SelfLearningModel", "freqaimodel_path": "freqai_models",
        "freqai": {
            "enabled": true, "identifier": "...", "continual_learning": true,
            "save_backtest_models": true, "train_period_days": 5, "backtest_period_days": 1,
            "feature_parameters": {
                "include_timeframes": ["5m", "15m", "1h"],
                "label_period_candles": 12,            # H of the three targets
                "include_shifted_candles": 2,
                "indicator_periods_candles": [10, 20]  # <= 20 for startup_candle_count 250
            },
            "self_learning": {...}                    # read by the model, not here
        }
    Works with any FreqAI regressor that predicts the three targets; `&-novelty` is then absent
    and its entry filter is skipped. `&-drift`, `&-since_learned` and `&-challenge` (which
    model a drift challenge serves) are drawn on the chart only; no rule reads them.

    Loading it checks the config before freqtrade starts its API server or FreqAI
    (self_learning.startup_checks): weak API secrets, a missing `label_period_candles`, with
    SelfLearningModel a training window too short for it, and freqtrade's lookahead- or
    recursive-analysis of more than one pair (the market features read the whole whitelist)
    stop the bot with an error naming the keys.
    """

    INTERFACE_VERSION = 3

    timeframe = "5m"
    can_short = False
    process_only_new_candles = True
    use_exit_signal = True
    exit_profit_only = False
    ignore_roi_if_entry_signal = False

    # FreqAI loads this many candles of *each* include_timeframe before the training data.
    # ADX(20), the slowest feature, needs 39 candles to start and ~200 more for its Wilder
    # smoothing to forget the start (< 0.1 % drift; see tests/test_strategy_bias.py).
    startup_candle_count: int = 250

    # In candles of the configured timeframe: 3 % at once, 1 % after H candles, break-even
    # after 3H (strategy_columns.roi_table); set for the config's timeframe in __init__.
    minimal_roi = roi_table(DEFAULT_HORIZON, 300)
    # The widest stop the model may place (also below the entry price); also the stop while
    # it has no usable prediction. A `stoploss` in the config or from hyperopt replaces it.
    stoploss = STOP_WIDEST
    use_custom_stoploss = True
    trailing_stop = False

    @property
    def protections(self) -> list[dict]:
        """freqtrade's MaxDrawdown in candles of the configured timeframe: every pair locked
        for 3H candles once the trades closed within the last 12H took more than 15 % of the
        account (strategy_columns.drawdown_protection; docs/hourly.md). freqtrade applies it in
        dry and live runs, in backtests and hyperopt only with --enable-protections; a
        subclass's own `protections` replaces it."""
        return drawdown_protection(self.horizon)

    order_types = {
        "entry": "limit",
        "exit": "limit",
        "stoploss": "market",
        "stoploss_on_exchange": False,
    }

    # Entries (README "Trading rules"): `&-s_close` is a calibrated, shrunk expected return
    # (its spread is a fraction of the target's), so it must clear the round trip of fees
    # (0.2 % on Binance spot) plus a margin (it is never below that round trip:
    # EntryRules.floor), in a market the autoencoder knows (novelty z-score). bot_start
    # narrows the searched range to start at the whitelist's round trip (hyperopt_space).
    entry_threshold = DecimalParameter(*ENTRY_THRESHOLD_RANGE, default=RULES.threshold,
                                       decimals=THRESHOLD_DECIMALS, space="buy")
    novelty_max = DecimalParameter(1.0, 5.0, default=RULES.novelty_max, decimals=1, space="buy")
    # Optional filters, off by default (on the 1h dev windows each removed more good entries
    # than bad ones, docs/hourly.md "Where the entries come from"); with use_entry_z the
    # prediction must stand `entry_z` above its own predictions of the last day (z-score over
    # z_candles(timeframe), prediction_z) ...
    use_entry_z = BooleanParameter(default=RULES.use_entry_z, space="buy")
    entry_z = DecimalParameter(0.0, 3.0, default=RULES.z, decimals=2, space="buy")
    # ... with use_score_ic the model's rolling IC over its last matured predictions must be
    # at least `min_score_ic` ...
    use_score_ic = BooleanParameter(default=RULES.use_score_ic, space="buy")
    min_score_ic = DecimalParameter(-1.0, 0.5, default=RULES.min_score_ic, decimals=2,
                                    space="buy")
    # ... with use_expected_return the calibrated expected return must clear the round trip
    # of fees plus `fee_margin` ...
    use_expected_return = BooleanParameter(default=RULES.use_expected_return, space="buy")
    fee_margin = DecimalParameter(0.0, 0.01, default=RULES.fee_margin, decimals=4, space="buy")
    # ... and with `top_k` > 0 be among the `top_k` largest expected returns of the whitelist
    # at the signal candle (confirm_trade_entry); bot_start narrows the searched range to
    # below the whitelist's size (hyperopt_space).
    top_k = IntParameter(*TOP_K_RANGE, default=TOP_K_DEFAULT, space="buy")
    # Exit when the expected return turns below this (a predicted reversal).
    exit_threshold = DecimalParameter(-0.01, 0.0, default=0.0, decimals=4, space="sell")
    # The stop sits this multiple of the predicted downward excursion below the close (10:
    # chosen on the usdt-1h dev windows over 2, docs/hourly.md "Trading the prediction").
    stop_buffer = DecimalParameter(1.0, 10.0, default=10.0, decimals=2, space="sell")
    # Exit after this many horizons H (label_period_candles) of candles of the timeframe: the
    # time the prediction was about (0: no time exit; custom_exit; 1: chosen on dev).
    hold_horizons = DecimalParameter(0.0, 6.0, default=1.0, decimals=2, space="sell")
    # With hold_on_signal the time exit waits while the pair's latest candle carries an entry
    # signal: exiting a trade the rules would enter again at once costs a round trip of fees
    # (rules/hold-rule.md; off by default).
    hold_on_signal = BooleanParameter(default=False, space="sell")

    # FreqUI and `freqtrade plot-dataframe`: the predicted range as price levels on the chart
    # (band_high / band_low: the excursions the model expects over the next H candles; the
    # stop is placed from band_low), the prequential scoreboard, novelty and drift (with
    # `&-challenge`: +1 while a drift challenge serves the challenger, -1 the incumbent),
    # learning.
    plot_config = {
        "main_plot": {
            "band_high": {
                "color": "#26a69a",
                "fill_to": "band_low",
                "fill_label": "predicted range (next H candles)",
                "fill_color": "rgba(38,166,154,0.12)",
            },
            "band_low": {"color": "#ef5350"},
            "predicted_close": {"color": "#2962ff"},
        },
        "subplots": {
            "Prediction": {
                "&-s_close": {"color": "#2962ff"},
                "&-liq_up": {"color": "#26a69a"},
                "&-liq_down": {"color": "#ef5350"},
            },
            "Scoreboard": {
                "&-score_ic": {"color": "#2962ff"},
                "&-score_hit_rate": {"color": "#ff9800"},
                "&-score_band_up": {"color": "#26a69a"},
                "&-score_band_down": {"color": "#ef5350"},
            },
            "Novelty and drift": {
                "&-novelty": {"color": "#ff9800"},
                "&-drift": {"color": "#d50000", "type": "bar"},
                "&-challenge": {"color": "#6d4c41", "type": "bar"},
            },
            "Entries": {
                "entry_predicted": {"color": "#2962ff"},
                "entry_realized": {"color": "#ff9800"},
                "round_trip_fee": {"color": "#90a4ae"},
            },
            "Learning": {
                "&-training_counter": {"color": "#7e57c2"},
                "&-since_learned": {"color": "#8d6e63"},
                "do_predict": {"color": "#90a4ae", "type": "bar"},
            },
        },
    }

    def __init__(self, config: dict) -> None:
        super().__init__(config)
        timeframe_s = timeframe_to_seconds(config.get("timeframe") or self.timeframe)
        startup_checks.enforce(config, timeframe_s, OperationalException,
                               model=config.get("freqaimodel") == "SelfLearningModel",
                               market_features=True)
        # Every window in candles of the configured timeframe (a minimal_roi in the config
        # still wins: freqtrade applies it after __init__).
        freqai = config.get("freqai") or {}
        horizon = label_horizon(freqai) if freqai.get("enabled") else DEFAULT_HORIZON
        self.minimal_roi = roi_table(horizon, timeframe_s)
        self.z_candles = z_candles(timeframe_s)
        self.horizon = horizon
        self.timeframe_s = timeframe_s
        self.calibration_candles = calibration_candles(timeframe_s)
        self.market_windows = market_windows(timeframe_s)
        self.basket_cache = BasketCache()  # the basket, once per set of candles
        # freqtrade's keys read here, once: FreqAI's correlated pairs (where BTC comes from
        # when it is not whitelisted) and the config's fee per side (None: the exchange's).
        feature_parameters = freqai.get("feature_parameters") or {}
        self.corr_pairs = list(feature_parameters.get("include_corr_pairlist") or [])
        self.config_fee = config.get("fee")
        self.round_trip_fees: dict[str, float] = {}
        # pair -> its expected_return by candle date, as of its last analysis (top_k ranking)
        self.expected_returns: dict[str, Series] = {}
        # The entry record's log: a backtest's line is over all its signals, a bot's over the
        # last ENTRY_RECORD_SIGNALS (the chart's window).
        self.entry_log = EntryRecordLog(
            None if config.get("runmode") == RunMode.BACKTEST else ENTRY_RECORD_SIGNALS)

    def bot_start(self, **kwargs) -> None:
        """Narrow the searched ranges of `entry_threshold` and `top_k` to the values that
        differ in effect on this whitelist and its fees (self_learning.strategy.hyperopt_space).
        freqtrade calls this once the data provider is set, before it loads the parameters'
        values, which go to these per-instance parameters (values outside the ranges too)."""
        if getattr(self, "dp", None) is None:
            return
        pairs = self.basket_pairs()
        low, high = threshold_range([self.round_trip_fee(pair) for pair in pairs])
        self.entry_threshold = DecimalParameter(low, high, default=RULES.threshold,
                                                decimals=THRESHOLD_DECIMALS, space="buy",
                                                optimize=low < high)
        low, high = top_k_range(len(pairs))
        self.top_k = IntParameter(low, high, default=TOP_K_DEFAULT, space="buy",
                                  optimize=low < high)

    # -- FreqAI features (all stationary ratios) ---------------------------------------------

    def feature_engineering_expand_all(
        self, dataframe: DataFrame, period: int, metadata: dict, **kwargs
    ) -> DataFrame:
        return over_observed(dataframe, lambda frame: self._expand_all(frame, period))

    def feature_engineering_expand_basic(
        self, dataframe: DataFrame, metadata: dict, **kwargs
    ) -> DataFrame:
        return over_observed(dataframe, self._expand_basic)

    @staticmethod
    def _expand_all(dataframe: DataFrame, period: int) -> DataFrame:
        # TA-Lib on whole price ticks: the same features at any price level (on_price_grid).
        candles = on_price_grid(dataframe)
        close = candles["close"]
        dataframe["%-rsi-period"] = ta.RSI(candles, timeperiod=period) / 100
        dataframe["%-mfi-period"] = ta.MFI(candles, timeperiod=period) / 100
        dataframe["%-adx-period"] = ta.ADX(candles, timeperiod=period) / 100
        dataframe["%-sma_dist-period"] = ratio(close, ta.SMA(candles, timeperiod=period)) - 1
        dataframe["%-ema_dist-period"] = ratio(close, ta.EMA(candles, timeperiod=period)) - 1
        dataframe["%-roc-period"] = ta.ROCP(candles, timeperiod=period)
        bands = ta.BBANDS(candles, timeperiod=period, nbdevup=2.0, nbdevdn=2.0)
        band_range = bands["upperband"] - bands["lowerband"]
        dataframe["%-bb_width-period"] = ratio(band_range, bands["middleband"])
        dataframe["%-bb_pctb-period"] = band_position(close, bands["lowerband"],
                                                      bands["upperband"])
        dataframe["%-atr_ratio-period"] = ratio(ta.ATR(candles, timeperiod=period), close)
        dataframe["%-rel_volume-period"] = ratio(
            dataframe["volume"], dataframe["volume"].rolling(period).mean()
        )
        return dataframe

    @staticmethod
    def _expand_basic(dataframe: DataFrame) -> DataFrame:
        close = dataframe["close"]
        dataframe["%-pct_change"] = close.pct_change()
        dataframe["%-raw_volume_ratio"] = ratio(
            dataframe["volume"], dataframe["volume"].rolling(24).mean()
        )
        dataframe["%-close_sma_ratio"] = ratio(close, close.rolling(24).mean()) - 1
        dataframe["%-hl_range"] = ratio(dataframe["high"] - dataframe["low"], close)
        return dataframe

    def feature_engineering_standard(
        self, dataframe: DataFrame, metadata: dict, **kwargs
    ) -> DataFrame:
        date = dataframe["date"].dt
        hour = date.hour + date.minute / 60
        dataframe["%-day_of_week_sin"] = np.sin(2 * np.pi * date.day_of_week / 7)
        dataframe["%-day_of_week_cos"] = np.cos(2 * np.pi * date.day_of_week / 7)
        dataframe["%-hour_of_day_sin"] = np.sin(2 * np.pi * hour / 24)
        dataframe["%-hour_of_day_cos"] = np.cos(2 * np.pi * hour / 24)
        market = self.market_columns(dataframe, metadata.get("pair"))
        if market is None:
            return dataframe
        # FreqAI's check of a reused backtest window's features runs this again on a frame that
        # already has them (after a window it trained): replace them, as the lines above do.
        return dataframe.drop(columns=market.columns, errors="ignore").join(market)

    # -- the market's own information (self_learning.strategy.market_features) -------------------

    def market_columns(self, dataframe: DataFrame, pair: str | None) -> DataFrame | None:
        """The basket of the whitelist and BTC as features of `pair` (`%-basket_ret_3`, ...):
        every whitelist pair's closed candles from the data provider (and FreqAI's candle
        history, which holds the training days in dry/live runs), merged by date; BTC from
        the whitelist or FreqAI's `include_corr_pairlist`. The basket is computed once per
        set of candles (BasketCache: every pair of the whitelist shares it; a new candle of
        any pair makes a new one). None without a data provider or pair (unit tests), so no
        market columns."""
        if getattr(self, "dp", None) is None or not pair:
            return None
        whitelist = self.basket_pairs()
        btc = btc_pair(whitelist, self.corr_pairs)
        pairs = dict.fromkeys([*whitelist, pair, *([btc] if btc else [])])
        frames = {p: self.candle_frames(p) for p in pairs}
        key = (tuple(whitelist), btc, self.market_windows, frames_key(frames))
        basket = self.basket_cache.get(key, lambda: basket_of(
            {p: closes_by_date(f) for p, f in frames.items()}, whitelist, btc,
            self.market_windows))
        return pair_columns(dataframe["date"], pair, basket, self.market_windows)

    def basket_pairs(self) -> list[str]:
        """The pairs of the basket: the pairlist's (trade, backtesting, hyperopt), else the
        config's `exchange.pair_whitelist` (plot-dataframe runs without a pairlist provider)."""
        try:
            return list(self.dp.current_whitelist())
        except OperationalException:
            return list(self.config.get("exchange", {}).get("pair_whitelist") or [])

    def candle_frames(self, pair: str) -> list:
        """The pair's candles at the strategy's timeframe: FreqAI's candle history (dry and
        live runs: the training days), then the data provider's closed candles (later wins,
        closes_by_date)."""
        history = getattr(getattr(getattr(self, "freqai", None), "dd", None), "historic_data",
                          None) or {}
        stored = history.get(pair, {}).get(self.timeframe)
        return [stored, self.dp.get_pair_dataframe(pair, self.timeframe)]

    def set_freqai_targets(self, dataframe: DataFrame, metadata: dict, **kwargs) -> DataFrame:
        """
        The column contract of DEVELOPERS.md, over the next H observed candles only, through
        the one target formula the model and the quality benchmark use
        (self_learning.candles.features.observed_targets, via strategy_columns.add_target_labels).
        Candles freqtrade filled (closed market, outage), broken ones and the last H observed
        rows are NaN (FreqAI drops them from training). FreqAI calls this on training/backtest
        slices only.
        """
        return add_target_labels(dataframe, label_horizon(self.freqai_info))

    # -- signals ------------------------------------------------------------------------------

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe = self.freqai.start(dataframe, metadata, self)
        dataframe["expected_return"] = expected_return(dataframe, self.horizon,
                                                       self.calibration_candles)
        return band_levels(scoreboard_or_nan(dataframe))

    def round_trip_fee(self, pair: str) -> float:
        """Entry plus exit fee of `pair`: the config's `fee` (what backtests charge when it is
        set), else the exchange market's taker fee, else FALLBACK_FEE; per side, times 2."""
        if pair not in self.round_trip_fees:
            fee = self.config_fee
            if fee is None and getattr(self, "dp", None) is not None:
                try:
                    fee = (self.dp.market(pair) or {}).get("taker")
                except OperationalException:  # no exchange (e.g. plotting from files)
                    fee = None
            self.round_trip_fees[pair] = round_trip(fee)
        return self.round_trip_fees[pair]

    def entry_rules(self, pair: str | None = None) -> EntryRules:
        return EntryRules(
            threshold=float(self.entry_threshold.value), z=float(self.entry_z.value),
            novelty_max=float(self.novelty_max.value),
            min_score_ic=float(self.min_score_ic.value), z_candles=self.z_candles,
            round_trip_fee=None if pair is None else self.round_trip_fee(pair),
            fee_margin=float(self.fee_margin.value),
            use_entry_z=bool(self.use_entry_z.value), use_score_ic=bool(self.use_score_ic.value),
            use_expected_return=bool(self.use_expected_return.value))

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        """Long when the prediction is usable and clears `entry_threshold` (at least the pair's
        round trip of fees) and the market is not novel (strategy_columns.entry_filters).
        Optional, off by default: with use_entry_z the prediction stands `entry_z` above its
        own recent mean; with use_score_ic the model's rolling IC (`&-score_ic`, the
        prequential scoreboard; not filled yet does not block) is at least `min_score_ic`;
        with use_expected_return the expected return (`&-s_close` calibrated on the model's
        matured predictions, strategy_columns.expected_return) clears the round trip of fees
        plus `fee_margin`. Filters whose column a model does not provide (other FreqAI models)
        are skipped."""
        pair = metadata.get("pair")
        conditions = np.logical_and.reduce(
            list(entry_filters(dataframe, self.entry_rules(pair)).values()))
        dataframe.loc[conditions, ["enter_long", "enter_tag"]] = (1, "ai_long")
        if pair and "expected_return" in dataframe.columns:
            self.expected_returns[pair] = Series(
                dataframe["expected_return"].to_numpy(), index=dataframe["date"])
        return self.record_entries(dataframe, pair)

    def record_entries(self, dataframe: DataFrame, pair: str | None) -> DataFrame:
        """Whether the entries realize what they predict: the entry record's columns
        (self_learning.strategy.entry_record: matured signals, the mean prediction and
        realized return of the last 50) and the pair's round trip of fees, drawn under
        "Entries"; live and dry-run log the record when a signal matures, a backtest once
        per pair over all its signals. Hyperopt, whose epochs read neither, skips it (about 5
        ms a pair and epoch: benchmarks/entry_record.py)."""
        if self.config.get("runmode") == RunMode.HYPEROPT:
            return dataframe
        matured = matured_signals(dataframe, self.horizon)
        dataframe[list(ENTRY_RECORD_COLUMNS)] = record_of(dataframe.index, matured)
        if pair:
            fee = self.round_trip_fee(pair)
            dataframe["round_trip_fee"] = fee
            if self.config.get("runmode") in ENTRY_LOG_MODES:
                self.entry_log.update(
                    pair, EntryRecordLine.over(matured, self.entry_log.signals), fee)
        return dataframe

    def confirm_trade_entry(self, pair: str, order_type: str, amount: float, rate: float,
                            time_in_force: str, current_time: datetime, entry_tag: str | None,
                            side: str, **kwargs) -> bool:
        """With `top_k` > 0, enter only when the pair's expected return at its signal candle
        (the last analyzed one) is among the `top_k` largest of the whitelist's pairs at that
        candle (strategy_columns.among_top): the best predictions across pairs, not just the
        ones above the fee. Every pair's expected returns are those of its last analysis
        (populate_entry_trend); a pair without that candle does not count."""
        k = int(self.top_k.value)
        if k <= 0:
            return True
        dataframe, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        if dataframe.empty:
            return False
        signal = dataframe["date"].iloc[-1]
        values = {p: float(self.expected_returns[p].get(signal, np.nan))
                  for p in dict.fromkeys([*self.basket_pairs(), pair])
                  if p in self.expected_returns}
        return among_top(values, pair, k)

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        reversal = (dataframe["do_predict"] == 1) & (
            dataframe["&-s_close"] < float(self.exit_threshold.value)
        )
        dataframe.loc[reversal, ["exit_long", "exit_tag"]] = (1, "ai_reversal")
        return dataframe

    def custom_exit(self, pair: str, trade: Trade, current_time: datetime, current_rate: float,
                    current_profit: float, **kwargs) -> str | None:
        """Time exit ("time_exit") once the trade is `hold_horizons` x H candles of the
        timeframe old (strategy_columns.hold_candles; 0: never): the horizon the entry's
        prediction was about has passed. With hold_on_signal it waits while the pair's latest
        analyzed candle carries an entry signal (strategy_columns.entry_signal_on)."""
        candles = hold_candles(self.horizon, float(self.hold_horizons.value))
        age = current_time - trade.open_date_utc
        if not candles or age < timedelta(seconds=candles * self.timeframe_s):
            return None
        if self.hold_on_signal.value and entry_signal_on(
                self.dp.get_analyzed_dataframe(pair, self.timeframe)[0]):
            return None
        return "time_exit"

    # -- stop from the predicted downward excursion -----------------------------------------

    def predicted_stop_rate(self, pair: str) -> float | None:
        """
        Stop price from the latest analyzed candle: `stop_buffer` times its predicted downward
        excursion `&-liq_down` below its close, clamped to [`stoploss`, STOP_TIGHTEST] of that
        close. None when the candle has no usable prediction.
        """
        dataframe, _ = self.dp.get_analyzed_dataframe(pair, self.timeframe)
        if dataframe.empty or "&-liq_down" not in dataframe.columns:
            return None
        candle = dataframe.iloc[-1]
        liq_down = float(candle["&-liq_down"])
        close = float(candle["close"])
        if candle.get("do_predict") != 1 or not np.isfinite(liq_down) or not close > 0:
            return None
        distance = min(max(liq_down * float(self.stop_buffer.value), float(self.stoploss)),
                       STOP_TIGHTEST)
        return close * (1 + distance)

    def custom_stoploss(
        self,
        pair: str,
        trade: Trade,
        current_time: datetime,
        current_rate: float,
        current_profit: float,
        after_fill: bool,
        **kwargs,
    ) -> float | None:
        """
        Return the stop as a distance below `current_rate` (freqtrade's contract). freqtrade
        only ever raises a long's stop, so a fresh prediction can tighten it but never loosen it;
        right after the entry fill it may lower it, never below `stoploss` under the entry price.
        """
        stop_rate = self.predicted_stop_rate(pair)
        if stop_rate is None:
            # The static stop, measured from the entry price (a no-op once the stop was raised).
            return stoploss_from_open(
                self.stoploss, current_profit, is_short=trade.is_short, leverage=trade.leverage
            ) or None
        # Long only (can_short False): freqtrade's stop at `stoploss` below the entry price.
        stop_rate = max(stop_rate,
                        trade.open_rate * (1 - abs(self.stoploss) / (trade.leverage or 1.0)))
        if stop_rate >= current_rate:
            return None  # price already under the predicted stop: keep the current one
        return stoploss_from_absolute(
            stop_rate, current_rate, is_short=trade.is_short, leverage=trade.leverage
        )

