import logging
from time import time
from typing import Any

import numpy as np
import pandas as pd
from freqtrade.configuration import TimeRange
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_seconds
from freqtrade.freqai.base_models.BaseRegressionModel import BaseRegressionModel
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen
from pandas import DataFrame

from self_learning.config import ConfigError, parse_config
from self_learning.handle import ModelHandle
from self_learning.runtime_env import (
    TF_MISSING_MESSAGE,
    configure_tensorflow_threads,
    tensorflow_available,
)

logger = logging.getLogger(__name__)


class SelfLearningModel(BaseRegressionModel):
    """
    Three TensorFlow networks that keep learning: a market-structure autoencoder (latent
    features, novelty), a gated feature-discovery network (`&-s_close`) and a liquidity model
    (`&-liq_up`, `&-liq_down`). Continual learning inside FreqAI's retraining, per-candle
    online learning once a candle's label matures, and a crash-safe store of SavedModels under
    `user_data/models/<identifier>/self_learning/` (live and dry-run; backtests, hyperopt and
    analyses learn into `self_learning_runs/<mode>-<timerange>/` next to it, see run_stores.py).

    Reads (all optional, validated at start-up; see README "Configuration"):
        "freqai": {
            "continual_learning": true, "save_backtest_models": true,
            "feature_parameters": {"label_period_candles": 12, ...},
            "self_learning": {"window_candles": 32, "latent_dim": 8, "hidden_units": 64,
                              "epochs": 30, "incremental_epochs": 3, "batch_size": 256,
                              "learning_rate": 0.001, "replay_size": 2048, "replay_batch": 8,
                              "online_learning": true, "prequential_backtest": false,
                              "save_interval": 100, "keep_versions": 3,
                              "slow_save_warning_s": 1.0, "shutdown_timeout_s": 30,
                              "seed": 42, "backtest_from_live_model": false}
        }
    FreqAI's own feature pipeline (per-window MinMax scaling, variance filter) is bypassed:
    the networks keep their own input scaling, fixed at the first training of a pair, so that
    continual learning sees inputs with a stable meaning.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        try:
            self.sl_config = parse_config(self.freqai_info)
        except ConfigError as err:
            raise OperationalException(f"{err}. Fix it in your config file.") from None
        self.tf_ok = tensorflow_available()
        self._tf_warned = False
        self.runtime = None
        if not self.tf_ok:
            logger.warning(TF_MISSING_MESSAGE)
            return
        configure_tensorflow_threads()
        self.runtime = self._start_runtime()

    def _start_runtime(self):
        """The runtime on this run mode's store (run_stores.py); with backtest_from_live_model,
        refuse to start when the live model learned candles after the backtest's start."""
        from self_learning.lifecycle import SelfLearningRuntime
        from self_learning.run_stores import plan_store
        from self_learning.timeline import RestoreRefused

        runmode = self.config.get("runmode")
        timerange = self.config.get("timerange")
        start = TimeRange.parse_timerange(timerange).startts if timerange else None
        plan = plan_store(self.full_path, getattr(runmode, "value", runmode), timerange, start,
                          self.sl_config.backtest_from_live_model)
        runtime = SelfLearningRuntime(
            self.sl_config, plan.root, timeframe_to_seconds(self.config["timeframe"]),
            background_saves=plan.background_saves, seed_root=plan.seed,
            store_is_live=plan.live_store)
        seed = f", starting from the live model in {plan.seed}" if plan.seed else ""
        logger.info(f"SelfLearning store for this {plan.mode} run: {plan.root}{seed}")
        if plan.seed is not None and plan.not_after_ts is not None:
            try:
                runtime.check_seed(self.config["exchange"]["pair_whitelist"], plan.not_after_ts)
            except RestoreRefused as err:
                raise OperationalException(str(err)) from None
        return runtime

    # -- FreqAI callbacks --------------------------------------------------------------------

    def extract_data_and_train_model(self, *args, **kwargs) -> None:
        # freqtrade 2026.9 on pandas 3: live retrains concat history loaded from disk
        # (datetime64[ms, zoneinfo UTC]) with new candles (datetime64[us, timezone.utc]) into an
        # object-dtype "date" column that the strategy's `.dt` features cannot use.
        with self.dd.history_lock:
            for frames in self.dd.historic_data.values():
                for frame in frames.values():
                    if not pd.api.types.is_datetime64_any_dtype(frame["date"]):
                        frame["date"] = pd.to_datetime(frame["date"], utc=True)
        return super().extract_data_and_train_model(*args, **kwargs)

    def train(self, unfiltered_df: DataFrame, pair: str, dk: FreqaiDataKitchen, **kwargs) -> Any:
        logger.info(f"-------------------- Starting training {pair} --------------------")
        start = time()
        features, labels = dk.filter_features(
            unfiltered_df, dk.training_features_list, dk.label_list, training_filter=True
        )
        dk.data_dictionary = {"train_features": features, "train_labels": labels,
                              "train_dates": dk.train_dates, "frame": unfiltered_df}
        dk.fit_labels()
        model = self.fit(dk.data_dictionary, dk)
        logger.info(f"-------------------- Done training {pair} "
                    f"({time() - start:.2f} secs) --------------------")
        return model

    def fit(self, data_dictionary: dict, dk: FreqaiDataKitchen, **kwargs) -> Any:
        if self.runtime is None:
            self._warn_tf_missing()
            return ModelHandle(dk.pair, 0, available=False)
        from self_learning.frames import candles_from_frame
        from self_learning.timeline import RestoreRefused, iso_utc

        candles = candles_from_frame(data_dictionary["frame"], dk.training_features_list)
        try:
            report = self.runtime.fit(dk.pair, dk.training_features_list, candles)
        except RestoreRefused:  # logged once by the runtime; the pair gets do_predict = 0
            return ModelHandle(dk.pair, 0, available=False)
        logger.info(
            f"{report.mode} {'update' if report.mode == 'incremental' else 'training'} of "
            f"{dk.pair}: {report.samples} new samples, {report.replayed} replayed, "
            f"{report.skipped} skipped, {report.seconds:.2f} s, "
            f"training counter {report.training_counter}, last learned candle "
            f"{iso_utc(self.runtime.known(dk.pair).last_learned_ts)}"
        )
        return ModelHandle(dk.pair, report.training_counter)

    def predict(self, unfiltered_df: DataFrame, dk: FreqaiDataKitchen, **kwargs
                ) -> tuple[DataFrame, np.ndarray]:
        from self_learning.frames import candles_from_frame, null_predictions, prediction_frame
        from self_learning.timeline import RestoreRefused

        dk.find_features(unfiltered_df)
        dk.DI_values = np.zeros(len(unfiltered_df))
        for name in ("&-novelty", "&-training_counter"):
            dk.data.setdefault("labels_mean", {}).setdefault(name, 0.0)
            dk.data.setdefault("labels_std", {}).setdefault(name, 0.0)
        learner = self.runtime.known(dk.pair) if self.runtime else None
        candles = candles_from_frame(unfiltered_df, dk.training_features_list)
        if learner is None and self.runtime is not None and len(candles.ts):
            try:
                learner = self.runtime.learner(dk.pair, dk.training_features_list,
                                               int(candles.ts.max()))
            except RestoreRefused:  # logged once by the runtime
                learner = None
        if learner is None or not learner.trained:
            self._warn_tf_missing()
            pred_df, do_predict = null_predictions(len(unfiltered_df))
        else:
            pred_df, do_predict = prediction_frame(self._predictions(candles, dk))
        dk.do_predict = do_predict
        return pred_df, do_predict

    def _predictions(self, candles, dk: FreqaiDataKitchen):
        from self_learning.frames import merge_predictions

        learner = self.runtime.learner(dk.pair, dk.training_features_list)
        cfg = self.sl_config
        online = cfg.online_learning if self.live else cfg.prequential_backtest
        if not online:
            return learner.predict(candles)
        # Rows older than the candles stepped now are predicted first, with the weights as
        # they were: so the training counter never falls where those rows meet stepped ones.
        history = learner.predict(candles) if len(candles.ts) > 1 else None
        stepped = self.runtime.observe(dk.pair, dk.training_features_list, candles)
        if stepped.learned:
            logger.info(f"learned {stepped.learned} candles for {dk.pair}, "
                        f"counter {learner.training_counter}")
        if len(stepped.ts) == len(candles.ts):
            return stepped
        return merge_predictions(history if history is not None else learner.predict(candles),
                                 stepped)

    def _warn_tf_missing(self) -> None:
        if self.tf_ok or self._tf_warned:
            return
        self._tf_warned = True
        logger.warning(TF_MISSING_MESSAGE)
        if self.data_provider is not None:
            self.data_provider.send_msg(TF_MISSING_MESSAGE, always_send=True)

    def shutdown(self) -> None:
        # FreqAI runs `_on_stop` before it joins its training thread: save after the join, or
        # a retrain still running at SIGTERM finishes after the saver stopped and is lost.
        super().shutdown()
        if self.runtime is not None:
            self.runtime.shutdown()
