"""End to end, after a real `freqtrade backtesting` with `freqai.activate_tensorboard`:

* the model wrote TensorBoard event files for the run, one event per predicted candle, read
  back with TensorBoard's own EventAccumulator and equal to FreqAI's stored predictions;
* `freqtrade plot-dataframe` of the finished backtest (FreqAI reuses its stored predictions,
  nothing is retrained) draws the strategy's plot_config: band levels, scoreboard, novelty;
* the demo's report turns the same predictions into a PNG and scores them against the
  realized target and the yardstick.

The backtest is the session's `windows_backtest` (conftest: two pairs, four backtest days,
TensorBoard on; test_backtest_e2e.py reads it too), copied into this test's folder; ETC/BTC's
part of it is checked, plotted and charted (about 20 s on two shared cores).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from backtest_support import WINDOWS_TIMERANGE

from self_learning.reports.backtest import load_rows, out_of_sample
from self_learning.reports.chart import render

PAIR = "ETC/BTC"
TIMERANGE = WINDOWS_TIMERANGE
TIMEOUT_S = 300
TRACES = ["band_high", "band_low", "predicted_close", "&-score_ic", "&-score_hit_rate",
          "&-score_band_up", "&-novelty", "&-drift", "&-training_counter"]


@pytest.mark.e2e
def test_backtest_writes_tensorboard_and_its_predictions_chart(
        windows_backtest, tmp_path, freqtrade_cli):
    backtest = windows_backtest.copy_into(tmp_path)
    config = backtest.ft_config.data
    assert config["freqai"]["activate_tensorboard"]
    user_data = backtest.user_data
    common = backtest.options()
    run = windows_backtest.run
    assert run.returncode == 0, run.describe()
    models = backtest.models

    # TensorBoard: what the model stepped is what FreqAI stored.
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logdir = models / "tensorboard" / f"backtest-{TIMERANGE}" / "ETC_BTC"
    assert list(logdir.glob("events.out.tfevents.*")), sorted(models.rglob("*tfevents*"))
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    # Events sit at their candle's time (wall time); their step is the training counter.
    events = acc.Scalars("model/training_counter")
    assert all(e.step == e.value for e in events)
    counter = {int(e.wall_time): e.value for e in events}
    preds = pd.concat([pd.read_feather(p) for p in
                       sorted((models / "backtesting_predictions").glob("cb_etc_*.feather"))])
    steps = ((pd.to_datetime(preds["date"], utc=True) - pd.Timestamp(0, tz="UTC")
              ) // pd.Timedelta(seconds=1)).tolist()
    assert set(steps) <= set(counter)
    assert [counter[s] for s in steps] == preds["&-training_counter"].astype(float).tolist()
    ic = {int(e.wall_time): e.value for e in acc.Scalars("scoreboard/ic")}
    known = preds["&-score_ic"].notna().to_numpy()
    np.testing.assert_allclose([ic[s] for s, k in zip(steps, known, strict=True) if k],
                               preds["&-score_ic"][known].to_numpy(), rtol=1e-6)
    for tag in ("loss/autoencoder", "loss/feature_discovery", "loss/liquidity",
                "scoreboard/hit_rate", "scoreboard/matured", "model/novelty", "drift/alarm",
                "save/seconds", "fit/seconds"):
        assert acc.Scalars(tag), tag

    # plot-dataframe of the finished backtest: no retraining, the plot_config's traces.
    plot = freqtrade_cli(["plot-dataframe", *common, "--pairs", PAIR], timeout=TIMEOUT_S)
    assert plot.returncode == 0, plot.describe()
    plot_log = plot.log[len(run.log):] if plot.log.startswith(run.log) else plot.log
    assert "Found backtesting prediction file" in plot_log, plot.describe()
    assert "Starting training" not in plot_log, plot.describe()  # the same log file
    # its frame lacks the first window's training days: the candles are unknown there, not
    # other ones (runtime/window_data.py)
    assert "made with other" not in plot_log, plot.describe()
    html = (user_data / "plot" / "freqtrade-plot-ETC_BTC-5m.html").read_text()
    for trace in TRACES:
        assert f'"name":"{trace}"' in html, trace

    # The demo's report on the same predictions.
    datadir = backtest.datadir
    rows = load_rows(models, datadir, [PAIR], "5m", config["freqai"]["feature_parameters"]
                     ["label_period_candles"])[PAIR]
    scores = out_of_sample(rows)
    assert scores["rows"] == rows["usable"].sum() > 400
    assert -1 < scores["ic"] < 1 and -1 < scores["naive_ic"] < 1
    png = render({PAIR: rows}, user_data / "plot" / "demo.png", window=144, horizon=12)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
