import logging
from time import time
from typing import Any

import numpy as np
from freqtrade.configuration import TimeRange
from freqtrade.exceptions import OperationalException
from freqtrade.exchange import timeframe_to_seconds
from freqtrade.freqai.base_models.BaseRegressionModel import BaseRegressionModel
from freqtrade.freqai.data_kitchen import FreqaiDataKitchen
from pandas import DataFrame

from self_learning.config import ConfigError, parse_config
from self_learning.frames import (
    candles_from_frame,
    fix_date_dtypes,
    null_predictions,
    prediction_frame,
    prepare_kitchen,
)
from self_learning.handle import ModelHandle
from self_learning.runtime_env import (
    TF_MISSING_MESSAGE,
    configure_tensorflow_threads,
    tensorflow_available,
)
from self_learning.startup_checks import enforce
from self_learning.telemetry import observers_for
from self_learning.timeline import RestoreRefused, iso_utc

logger = logging.getLogger(__name__)


class SelfLearningModel(BaseRegressionModel):
    """
    Three TensorFlow networks that keep learning: a market-structure autoencoder (latent,
    novelty), a gated wide-and-deep feature-discovery network (`&-s_close`; its wide head is a
    robust ridge shared across pairs) and a liquidity model (`&-liq_up`, `&-liq_down`).
    Continual learning in FreqAI's retrains, per-candle learning once a label matures, and a
    crash-safe store of SavedModels under `user_data/models/<identifier>/self_learning/`.

    Reads `freqai.feature_parameters.label_period_candles` (required) and the optional
    `freqai.self_learning` section (README "Configuration"), validated at start-up. FreqAI's
    feature pipeline is bypassed: the networks keep their own input scaling.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        try:
            self.sl_config = parse_config(self.freqai_info)
        except ConfigError as err:
            raise OperationalException(f"{err}. Fix it in your config file.") from None
        timeframe_s = timeframe_to_seconds(self.config["timeframe"])
        enforce(self.config, timeframe_s, OperationalException)  # secrets, training window
        self.runtime = None
        if not tensorflow_available():
            logger.warning(TF_MISSING_MESSAGE)
            return
        configure_tensorflow_threads()
        from self_learning.lifecycle import SelfLearningRuntime

        span, pairs = self.config.get("timerange"), self.config["exchange"]["pair_whitelist"]
        mode = getattr(self.config.get("runmode"), "value", self.config.get("runmode"))
        try:
            self.runtime = SelfLearningRuntime.for_run(
                self.sl_config, self.full_path, timeframe_s, mode, span,
                TimeRange.parse_timerange(span).startts if span else None, pairs)
        except RestoreRefused as err:
            raise OperationalException(str(err)) from None
        self.runtime.observer = observers_for(  # notifications; TensorBoard when activated
            self.sl_config, self.full_path, self.runtime.store.root, timeframe_s, pairs,
            str(mode), self._send, self.activate_tensorboard)

    def extract_data_and_train_model(self, *args, **kwargs) -> None:
        fix_date_dtypes(self.dd)  # freqtrade 2026.9 on pandas 3, see frames.py
        return super().extract_data_and_train_model(*args, **kwargs)

    def train(self, unfiltered_df: DataFrame, pair: str, dk: FreqaiDataKitchen, **kwargs) -> Any:
        logger.info(f"-------------------- Starting training {pair} --------------------")
        start = time()
        model = self.fit({"frame": unfiltered_df}, dk)
        logger.info(f"-------------------- Done training {pair} "
                    f"({time() - start:.2f} secs) --------------------")
        return model

    def fit(self, data_dictionary: dict, dk: FreqaiDataKitchen, **kwargs) -> Any:
        prepare_kitchen(dk, data_dictionary["frame"])
        if self.runtime is None:
            self._warn_tf_missing()
            return ModelHandle(dk.pair, 0, available=False)
        candles = candles_from_frame(data_dictionary["frame"], dk.training_features_list)
        try:
            r = self.runtime.fit(dk.pair, dk.training_features_list, candles)
        except RestoreRefused:  # logged once by the runtime; the pair gets do_predict = 0
            return ModelHandle(dk.pair, 0, available=False)
        why = f" ({r.skips.describe()})" if r.skipped else ""
        logger.info(f"{r.mode} {'update' if r.mode == 'incremental' else 'training'} of "
                    f"{dk.pair}: {r.samples} new samples, {r.replayed} replayed, {r.skipped} "
                    f"skipped{why}, {r.seconds:.2f} s, training counter {r.training_counter}, "
                    f"last learned candle {iso_utc(self.runtime.known(dk.pair).last_learned_ts)}")
        return ModelHandle(dk.pair, r.training_counter)

    def predict(self, unfiltered_df: DataFrame, dk: FreqaiDataKitchen, **kwargs
                ) -> tuple[DataFrame, np.ndarray]:
        prepare_kitchen(dk, unfiltered_df, predicting=True)
        candles = candles_from_frame(unfiltered_df, dk.training_features_list)
        c = self.sl_config
        learn = c.online_learning if self.live else c.prequential_backtest
        try:
            p = (self.runtime.predict(dk.pair, dk.training_features_list, candles, learn)
                 if self.runtime is not None and len(candles.ts) else None)
        except RestoreRefused:  # logged once by the runtime
            p = None
        if p is None or not p.ok.any():
            self._warn_tf_missing()
            pred_df, dk.do_predict = null_predictions(len(unfiltered_df))
            return pred_df, dk.do_predict
        if p.learned:
            logger.info(f"learned {p.learned} candles for {dk.pair}, counter "
                        f"{int(p.training_counter[-1])}")
        pred_df, dk.do_predict = prediction_frame(p)
        return pred_df, dk.do_predict

    def _send(self, text: str) -> None:  # freqtrade's notifications (Telegram, webhooks)
        if self.data_provider is not None:
            self.data_provider.send_msg(text, always_send=True)

    def _warn_tf_missing(self) -> None:
        if self.runtime is None and not getattr(self, "_tf_warned", False):
            self._tf_warned = True
            self._send(TF_MISSING_MESSAGE)

    def shutdown(self) -> None:
        # FreqAI runs `_on_stop` before it joins its training thread: save after the join, or
        # a retrain still running at SIGTERM finishes after the saver stopped and is lost.
        super().shutdown()
        if self.runtime is not None:
            self.runtime.shutdown()
