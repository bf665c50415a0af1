"""FreqAI's feature-pipeline keys with SelfLearningModel (README "Configuration", docs/
operations.md "FreqAI's feature and split keys"): the outlier detectors
(`use_SVM_to_remove_outliers`, `DI_threshold`, `use_DBSCAN_to_remove_outliers`) are fitted on
the training window and set do_predict 0 (and DI_values) on the rows they flag, leaving every
predicted column and the per-candle learning as without them; FreqAI saves the fitted pipeline
with the model and loads it back after a restart. The keys the model cannot honour (PCA, noise,
weight_factor, the test split) are warned about once each, naming the key.

The model tests fit one small model per setting on fit_support's candles (one epoch; about
10 s on two shared cores, most of it the first compile)."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fit_support import PAIR, kitchen, training_frame
from freqtrade.enums import RunMode

from self_learning.candles import outliers
from self_learning.startup_checks import IGNORED_FREQAI_KEYS, check_startup

ROOT = Path(__file__).resolve().parents[1]
ONE_HOUR = 3600
# A user's FreqAI config (freqtrade's FreqaiExampleHybridStrategy documents these values).
FREQAI_STYLE = {"use_SVM_to_remove_outliers": True, "DI_threshold": 0.9}
INJECTED = [150, 151, 152]  # prediction rows far outside the training features


def shipped(feature_parameters: dict | None = None, split: dict | None = None) -> dict:
    config = json.loads((ROOT / "config.json").read_text())
    config.update(runmode=RunMode.DRY_RUN)
    config["api_server"]["enabled"] = False
    config["exchange"]["pair_whitelist"] = [PAIR]
    config["freqai"]["feature_parameters"].update(feature_parameters or {})
    config["freqai"]["data_split_parameters"].update(split or {})
    return config


def test_the_shipped_config_and_the_detectors_draw_no_warning():
    assert check_startup(shipped(), ONE_HOUR).warnings == ()
    detectors = {**FREQAI_STYLE, "use_DBSCAN_to_remove_outliers": True,
                 "svm_params": {"shuffle": False, "nu": 0.1}}
    assert check_startup(shipped(detectors), ONE_HOUR).warnings == ()


@pytest.mark.parametrize(("feature_parameters", "split", "key"), [
    ({"principal_component_analysis": True}, {}, "principal_component_analysis"),
    ({"noise_standard_deviation": 0.05}, {}, "noise_standard_deviation"),
    ({"weight_factor": 0.9}, {}, "weight_factor"),
    ({"shuffle_after_split": True}, {}, "shuffle_after_split"),
    ({"reverse_train_test_order": True}, {}, "reverse_train_test_order"),
    ({}, {"test_size": 0.33}, "test_size"),
    ({}, {"test_size": 0}, "test_size"),
    ({}, {"shuffle": True}, "data_split_parameters.shuffle"),
])
def test_a_freqai_key_the_model_cannot_honour_is_warned_about_by_name(feature_parameters, split,
                                                                      key):
    warnings = check_startup(shipped(feature_parameters, split), ONE_HOUR).warnings
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith("freqai.") and key in warnings[0].split(" is ")[0]
    assert "ignored" in warnings[0]
    # another FreqAI model honours the key: the strategy's check (model=False) says nothing
    assert check_startup(shipped(feature_parameters, split), ONE_HOUR, model=False).warnings == ()


def test_every_ignored_and_honoured_key_is_in_the_docs():
    """Each key in operations.md's table of FreqAI's keys and in the README's Configuration."""
    table = (ROOT / "docs" / "operations.md").read_text().split(
        "## FreqAI's feature and split keys")[1].split("\n## ")[0]
    readme = (ROOT / "README.md").read_text().split("## Configuration")[1].split("\n## ")[0]
    for key in [*IGNORED_FREQAI_KEYS, *outliers.DETECTORS]:
        name = key.split(".")[-1]
        assert f"{name}`" in table and f"{name}`" in readme, key


def _model(tmp_path: Path, feature_parameters: dict):
    from SelfLearningModel import SelfLearningModel

    config = shipped(feature_parameters)
    config["user_data_dir"] = tmp_path
    config["freqai"]["self_learning"] = {**copy.deepcopy(config["freqai"]["self_learning"]),
                                         "epochs": 1, "incremental_epochs": 1}
    return SelfLearningModel(config=config)


def _run(tmp_path: Path, feature_parameters: dict, later):
    """Trains a model on 800 candles and predicts `later`: (model, kitchen, handle,
    predictions, do_predict); the caller shuts the model down."""
    model = _model(tmp_path, feature_parameters)
    model.dd.set_pair_dict_info({"pair": PAIR})
    dk = kitchen(model)
    handle = model.fit({"frame": training_frame(900).iloc[:800]}, dk)
    predictions, do_predict = model.predict(later, dk)
    return model, dk, handle, predictions, np.asarray(do_predict).copy()


@pytest.fixture(scope="module")
def later():
    frame = training_frame(900).iloc[700:].reset_index(drop=True)
    frame.loc[INJECTED, "%-a"] = 40.0  # 40 standard deviations
    return frame


@pytest.fixture(scope="module")
def without_detectors(tmp_path_factory, later):
    model, dk, _, predictions, do_predict = _run(tmp_path_factory.mktemp("off"), {}, later)
    model.shutdown()
    return predictions, do_predict, np.asarray(dk.DI_values).copy()


def test_detected_rows_get_do_predict_0_and_nothing_else_changes(tmp_path, later, caplog,
                                                                 without_detectors):
    """SVM and DI on: the injected rows (and a few more) get do_predict 0, DI_values says how
    far each row is from the training features; every predicted column is bit-identical to
    the model without detectors (flagged rows are still learned, per candle too); FreqAI's
    saved pipeline, loaded by a fresh data drawer as after a restart, flags the same rows."""
    from freqtrade.freqai.data_drawer import FreqaiDataDrawer

    plain, plain_do, plain_di = without_detectors
    with caplog.at_level(logging.INFO):
        model, dk, handle, predictions, do_predict = _run(tmp_path, FREQAI_STYLE, later)
    try:
        di = np.asarray(dk.DI_values).copy()
        assert plain.equals(predictions)
        assert not plain_di.any() and plain_do[INJECTED].all()
        flagged = np.flatnonzero(plain_do.astype(bool) & ~do_predict.astype(bool))
        assert set(INJECTED) <= set(flagged) and len(flagged) < len(later) // 4, flagged
        assert not (do_predict.astype(bool) & ~plain_do.astype(bool)).any()
        assert (di[INJECTED] > FREQAI_STYLE["DI_threshold"]).all() and (di < 0.9).mean() > 0.9
        messages = [r.getMessage() for r in caplog.records]
        assert any(m.startswith(f"{PAIR}: outlier detectors use_SVM_to_remove_outliers, "
                                "DI_threshold fitted on") for m in messages), messages

        dk.set_paths(PAIR, 1_733_000_000)
        dk.set_new_model_names(PAIR, 1_733_000_000)
        model.dd.save_data(handle, PAIR, dk)  # what FreqAI does after each training
        restarted = kitchen(model)
        assert FreqaiDataDrawer(Path(model.full_path), model.config).load_data(
            PAIR, restarted) == handle
        assert outliers.detector_steps(restarted.feature_pipeline) == ("svm", "di")
        again, again_do = model.predict(later, restarted)
        assert again.equals(predictions) and (np.asarray(again_do) == do_predict).all()
    finally:
        model.shutdown()


def test_a_pipeline_that_is_not_the_configured_one_is_said_once(tmp_path, later, caplog):
    """A model saved without detectors, loaded by a config that turns SVM on (a restart after
    the config changed): its pipeline serves until the next training, said once per pair."""
    model = _model(tmp_path, {"use_SVM_to_remove_outliers": True})
    try:
        model.dd.set_pair_dict_info({"pair": PAIR})
        model.fit({"frame": training_frame(900).iloc[:800]}, kitchen(model))
        with caplog.at_level(logging.WARNING):
            for _ in range(2):
                dk = kitchen(model)  # FreqAI's default pipeline: no detector
                _, do_predict = model.predict(later, dk)
        said = [r.getMessage() for r in caplog.records
                if "are not the ones freqai.feature_parameters turns on now" in r.getMessage()]
        assert len(said) == 1 and said[0].startswith(f"{PAIR}: its model's outlier detectors "
                                                     "(none)"), said
        assert np.asarray(do_predict)[INJECTED].all()
    finally:
        model.shutdown()


def test_rows_with_missing_features_are_checked_as_freqai_checks_them():
    """A prediction row with a missing or infinite feature is checked with 0 there (FreqAI's
    filter_features), not an error; a row far from the training rows is flagged; fit counts
    the training rows the detector flags."""
    from datasieve.pipeline import Pipeline
    from datasieve.transforms import DissimilarityIndex, SKLearnWrapper, SVMOutlierExtractor
    from sklearn.preprocessing import MinMaxScaler

    rng = np.random.default_rng(0)
    names = ["%-a", "%-b"]
    train = pd.DataFrame(rng.normal(size=(300, 2)), columns=names)
    pipeline = Pipeline([("scaler", SKLearnWrapper(MinMaxScaler(feature_range=(-1, 1)))),
                         ("svm", SVMOutlierExtractor(shuffle=False, nu=0.1)),
                         ("di", DissimilarityIndex(di_threshold=0.9, n_jobs=1))], {})
    assert outliers.fit(pipeline, train) == 29  # SGDOneClassSVM's, of seeded normal rows
    later = pd.DataFrame({"%-a": [0.0, np.nan, np.inf, 50.0], "%-b": [0.0, 0.1, 0.0, 0.0],
                          "close": 1.0})
    features = outliers.prediction_features(later, names)
    assert list(features.columns) == names and features.iloc[1:3, 0].tolist() == [0.0, 0.0]
    keep, di = outliers.inliers(pipeline, features)
    assert keep.tolist() == [True, True, True, False]
    assert (di[:3] < 0.9).all() and di[3] > 0.9


def test_the_pipeline_leaves_out_what_the_learners_never_see():
    """FreqAI's pipeline with every key on keeps its scaler and detectors, in its order, and
    drops PCA and the training noise (warned about instead)."""
    from datasieve.pipeline import Pipeline

    steps = [(name, None) for name in ("const", "scaler", "pca", "post-pca-scaler", "svm", "di",
                                       "dbscan", "noise")]
    kept = outliers.without_ignored(Pipeline(steps, {}))
    assert [name for name, _ in kept.steps] == ["const", "scaler", "svm", "di", "dbscan"]
    assert outliers.detector_steps(kept) == ("svm", "di", "dbscan")
    assert outliers.configured({"DI_threshold": 0, "use_SVM_to_remove_outliers": False}) == ()
