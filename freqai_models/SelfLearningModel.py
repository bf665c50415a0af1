from __future__ import annotations

import logging
from collections.abc import Callable
from time import time
from typing import TYPE_CHECKING, TypeVar

from freqtrade.configuration import TimeRange
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_seconds
from freqtrade.freqai.base_models.BaseRegressionModel import BaseRegressionModel
from pandas import DataFrame

from self_learning.candles import frames, outliers
from self_learning.candles.samples import InsufficientDataError
from self_learning.candles.timeline import RestoreRefused
from self_learning.handle import ModelHandle
from self_learning.runtime import runtime_env
from self_learning.runtime.freqai_files import FreqaiFileError, recover_at_start
from self_learning.runtime.prediction_settings import (
    PREDICTIONS_FOLDER,
    SettingsRecord,
    lost_window_message,
    mixed_windows_message,
    reused_windows,
)
from self_learning.runtime.run_stores import (
    REPLAY_NOTICE,
    REPLAY_REFUSES_LEARNING,
    TRADE_MODES,
    live_store,
    replays_live_predictions,
)
from self_learning.runtime.stop_guard import StopGuard
from self_learning.runtime.window_data import backtest_windows
from self_learning.startup_checks import enforce, load_config, run_mode

if TYPE_CHECKING:  # TensorFlow is imported only when the runtime starts
    from self_learning.runtime.lifecycle import SelfLearningRuntime

logger = logging.getLogger(__name__)
T = TypeVar("T")


class SelfLearningModel(BaseRegressionModel):
    """A model that keeps learning per FreqAI retrain and per matured candle, kept in a
    crash-safe store: `&-s_close` from a pooled ridge regression on the strategy's features
    (self_learning/returns/), `&-liq_up/down` and `&-novelty` from TensorFlow networks
    (self_learning/networks/). This class only adapts FreqAI's callbacks to the runtime
    (self_learning/runtime/lifecycle.py).

    It reads `freqai.feature_parameters.label_period_candles` (required) and the optional
    `freqai.self_learning` section (every key, its default and bounds: self_learning/config.py;
    a bad value stops the start with an error naming the key), e.g.:

        "freqai": {
            "feature_parameters": {"label_period_candles": 12},
            "model_training_parameters": {},
            "self_learning": {
                "window_candles": 32,         # candles per market window (autoencoder input)
                "epochs": 30,                 # first training; later ones are incremental
                "incremental_epochs": 3,
                "online_learning": true,      # learn each matured candle live and dry-run
                "prequential_backtest": true, # the same per-candle learning in backtests
                "shared_across_pairs": true,  # pool the ridge statistics over pairs
                "memory_candles": 576,        # half-life of what the ridge has learned
                "save_interval": 100,         # candles between background saves
                "keep_versions": 3,           # store versions kept per pair
                "seed": 42
            }
        }
    """

    runtime: SelfLearningRuntime | None = None  # None without TensorFlow or when replaying
    replaying: bool = False  # --freqai-backtest-live-models: no runtime, by design
    tf_missing_said: bool = False  # the missing-TensorFlow notice was sent to the user
    settings_record: SettingsRecord | None = None  # backtests: what made each stored prediction
    detector_keys: tuple[str, ...] = ()  # FreqAI's outlier detectors that are on (outliers.py)
    stop_guard: StopGuard | None = None  # trade modes: no SIGTERM lost (runtime/stop_guard.py)

    def __init__(self, **kwargs) -> None:
        try:  # FreqAI's own files, cut by a kill, would stop its constructor (freqai_files.py)
            recover_at_start(kwargs["config"])
        except FreqaiFileError as err:
            raise OperationalException(str(err)) from None
        super().__init__(**kwargs)
        self.sl_config = load_config(self.freqai_info, OperationalException)
        self.detector_keys = outliers.configured(self.ft_params)
        self.detectors_said: set[str] = set()  # pairs told their pipeline is not the config's
        timeframe_s = timeframe_to_seconds(self.config["timeframe"])
        enforce(self.config, timeframe_s, OperationalException)  # secrets, training window
        self.replaying = replays_live_predictions(self.config)
        if self.replaying:  # FreqAI calls neither train nor predict
            logger.info(REPLAY_NOTICE)
            return
        self.settings_record = SettingsRecord.for_run(self.full_path, self.config,
                                                      self.sl_config)
        if runtime_env.tensorflow_available():
            self.runtime = self._start_runtime(timeframe_s)
        else:
            logger.warning(runtime_env.TF_MISSING_MESSAGE)
        if run_mode(self.config) in TRADE_MODES:  # the bot is set up: no SIGTERM lost from here
            from freqtrade.worker import Worker

            self.stop_guard = StopGuard.install(Worker.run.__code__)

    def _start_runtime(self, timeframe_s: int) -> SelfLearningRuntime:
        """TensorFlow's threads and XLA cache set up, then the runtime on this run's store."""
        runtime_env.configure_tensorflow_threads()
        from self_learning.runtime.xla_cache import configure_xla_cache

        configure_xla_cache()  # compiled programs kept between processes (runtime/xla_cache.py)
        from self_learning.runtime.lifecycle import RunContext, SelfLearningRuntime
        from self_learning.store import StoreError
        span = self.config.get("timerange")
        run = RunContext(self.full_path, live_store(self.config["user_data_dir"], self.identifier),
                         timeframe_s, run_mode(self.config), span,
                         TimeRange.parse_timerange(span).startts if span else None,
                         self.config["exchange"]["pair_whitelist"], self._send,
                         self.activate_tensorboard)
        try:
            return SelfLearningRuntime.for_run(self.sl_config, run)
        except (RestoreRefused, StoreError) as err:  # in use, two stores, unwritable, ...
            raise OperationalException(str(err)) from None

    def extract_data_and_train_model(self, *args, **kwargs) -> None:
        frames.fix_date_dtypes(self.dd)  # freqtrade 2026.9 on pandas 3, see frames.py
        return super().extract_data_and_train_model(*args, **kwargs)

    def start_backtesting(self, dataframe: DataFrame, metadata: dict, dk, strategy):
        pair, predictions = metadata["pair"], self.full_path / PREDICTIONS_FOLDER
        windows = backtest_windows(dataframe, dk.training_timeranges, dk.backtesting_timeranges)
        reused = reused_windows(predictions, pair, {w.training_end: w.rows for w in windows})
        if self.settings_record is not None:  # says when stored predictions of other settings
            self.settings_record.check_reused(pair, reused, windows)  # or data are reused
        mixed = mixed_windows_message(pair, reused, predictions)
        if mixed is not None:  # trained windows, then a reused one: FreqAI cannot
            raise OperationalException(mixed)
        try:
            return super().start_backtesting(dataframe, metadata, dk, strategy)
        except FileNotFoundError as err:  # a stored prediction whose window folder was purged
            message = lost_window_message(err.filename, self.full_path)
            if message is None:
                raise
            raise OperationalException(message) from None

    def model_exists(self, dk) -> bool:
        """Never, so FreqAI trains every backtest window it has no stored prediction of (it asks
        only there). A window's saved FreqAI model (`sub-train-*`, `save_backtest_models`) is a
        handle: the learning is in the run's own store, which starts afresh in a new run, so
        loading the handle instead of training left the pair with no model and every candle
        unpredicted (a backtest after deleting `backtesting_predictions/`: 0 trades)."""
        return False

    def train(self, unfiltered_df: DataFrame, pair: str, dk, **kwargs) -> ModelHandle:
        if self.settings_record is not None:  # FreqAI stores this window's predictions next
            self.settings_record.note_window(dk.model_filename)
        logger.info(f"{'-' * 20} Starting training {pair} {'-' * 20}")
        start, model = time(), self.fit({"frame": unfiltered_df}, dk)
        logger.info(f"{'-' * 20} Done training {pair} ({time() - start:.2f} secs) {'-' * 20}")
        return model

    def fit(self, data_dictionary: dict, dk, **kwargs) -> ModelHandle:
        try:
            frames.prepare_kitchen(dk, data_dictionary["frame"])
            self._fit_detectors(dk)
            candles = frames.candles_from_frame(data_dictionary["frame"],
                                                dk.training_features_list)
            report = self._answer(lambda rt: rt.fit(dk.pair, dk.training_features_list,
                                                    candles))
        except InsufficientDataError as err:  # e.g. a pair listed less than the window ago
            logger.warning(f"Not training {dk.pair} this time: {err}. Until a training finds "
                           "enough candles it gets no predictions (do_predict = 0); FreqAI "
                           "tries again at its next training of the pair.")
            return ModelHandle(dk.pair, 0, available=False)
        if report is None:
            return ModelHandle(dk.pair, 0, available=False)
        logger.info(report.describe(dk.pair))
        if self.sl_config.label_scale:
            self._fit_label_scale(dk, candles)
        return ModelHandle(dk.pair, report.training_counter)

    def _fit_detectors(self, dk) -> None:
        """FreqAI's outlier detectors that are on, fitted on the window's complete training
        rows into dk.feature_pipeline, which FreqAI saves and loads with the model
        (candles/outliers.py); they set do_predict only, the model learns every row."""
        if not self.detector_keys:
            return
        pipeline = outliers.without_ignored(self.define_data_pipeline(threads=dk.thread_count))
        flagged = outliers.fit(pipeline, dk.data_dictionary["train_features"])
        dk.feature_pipeline = pipeline
        logger.info(f"{dk.pair}: outlier detectors {', '.join(self.detector_keys)} fitted on "
                    f"{len(dk.data_dictionary['train_features'])} training rows ({flagged} "
                    "flagged there); the rows they flag get do_predict 0 and are still learned")

    def _flag_outliers(self, dk, df: DataFrame, do_predict):
        """do_predict 0 on the rows the model's fitted detectors flag, and dk.DI_values."""
        steps = outliers.detector_steps(dk.feature_pipeline)
        wanted = tuple(outliers.DETECTORS[key] for key in self.detector_keys)
        if set(steps) != set(wanted) and dk.pair not in self.detectors_said:
            self.detectors_said.add(dk.pair)
            logger.warning(f"{dk.pair}: its model's outlier detectors "
                           f"({', '.join(steps) or 'none'})"
                           f" are not the ones freqai.feature_parameters turns on now "
                           f"({', '.join(wanted) or 'none'}): FreqAI saved them with the model, "
                           "so they set do_predict until the pair's next training fits the "
                           "configured ones")
        if not steps:
            return do_predict
        keep, dk.DI_values = outliers.inliers(
            dk.feature_pipeline, outliers.prediction_features(df, dk.training_features_list))
        return (do_predict * keep).astype(do_predict.dtype)

    def _fit_label_scale(self, dk, candles) -> None:
        """label_scale: the factor putting `&-s_close` on its label's scale, from the label's
        training std (FreqAI's `&-s_close_std`) and the model's predictions of the training
        candles; kept in dk.data, which FreqAI saves with the model."""
        p = self._answer(lambda rt: rt.predict_training_candles(
            dk.pair, dk.training_features_list, candles))
        label_std = dk.data.get("labels_std", {}).get("&-s_close")
        factor = None if p is None else frames.label_scale_factor(label_std, p.s_close, p.ok)
        dk.data[frames.SCALE_KEY] = factor
        if factor is None:
            logger.warning(f"freqai.self_learning.label_scale: no label or prediction spread "
                           f"for {dk.pair} yet, &-s_close stays calibrated until a retrain")
        else:
            logger.info(f"{dk.pair}: &-s_close served on its label's scale (x {factor:.2f}, "
                        f"label std {label_std:.5f})")

    def predict(self, unfiltered_df: DataFrame, dk, **kwargs) -> tuple:
        frames.prepare_kitchen(dk, unfiltered_df, predicting=True)
        candles = frames.candles_from_frame(unfiltered_df, dk.training_features_list)
        p = self._answer(lambda rt: rt.predict(dk.pair, dk.training_features_list, candles,
                                               rt.learns_per_candle))
        usable = p is not None and p.ok.any()
        pred_df, dk.do_predict = (frames.prediction_frame(p) if usable
                                  else frames.null_predictions(len(unfiltered_df)))
        if usable:
            dk.do_predict = self._flag_outliers(dk, unfiltered_df, dk.do_predict)
        frames.extend_saved_predictions(self.dd.historic_predictions, dk.pair, pred_df.columns)
        scale = dk.data.get(frames.SCALE_KEY) if self.sl_config.label_scale else None
        return frames.served(pred_df, scale), dk.do_predict

    def _answer(self, call: Callable[[SelfLearningRuntime], T]) -> T | None:
        """`call(runtime)`; None without TensorFlow (said once, to the user too) or for a
        pair whose restore was refused (the runtime logs that once). In a
        --freqai-backtest-live-models run, which has no runtime by design, an
        OperationalException naming the mode (not the missing-TensorFlow notice)."""
        if self.replaying:
            raise OperationalException(REPLAY_REFUSES_LEARNING)
        if self.runtime is None:
            if not self.tf_missing_said:
                self.tf_missing_said = True
                self._send(runtime_env.TF_MISSING_MESSAGE)
            return None
        try:
            return call(self.runtime)
        except RestoreRefused:
            return None

    def _send(self, text: str) -> None:  # freqtrade's notifications (Telegram, webhooks)
        if self.data_provider is not None:
            self.data_provider.send_msg(text, always_send=True)

    def shutdown(self) -> None:
        try:
            super().shutdown()  # joins FreqAI's training thread: a retrain at SIGTERM lands first
            if self.runtime is not None:
                self.runtime.shutdown()
        finally:  # a second SIGTERM was ignored until here, so the save above finished
            if self.stop_guard is not None:
                self.stop_guard.uninstall()
