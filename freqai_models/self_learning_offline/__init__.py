"""Offline tools of the project: everything that stands in for the outside world.

* `replay_exchange/`: a Binance-compatible spot REST exchange on 127.0.0.1 that replays
  freqtrade feather candles (`python -m self_learning_offline.replay_exchange`), used by the
  tests, the demo, the offline dry-run and the benchmarks.
* `market/`: the seeded synthetic market generator, the project's default data
  (`python -m self_learning_offline.market`).
* `bot_api`: the REST API (FreqUI) of a bot these tools start: per-run secrets as freqtrade's
  environment variables, its non-secret settings as a config overlay.
* `dry_run_state`: the offline dry-run's own folder: the replay exchange's clock kept across
  runs, with the trades database and model store that go with it.
* `utc_text`: epoch milliseconds as the UTC text these tools print or put in folder names.

The model never imports this package: `self_learning` (and freqtrade's loaded
`SelfLearningModel.py`) must run without it. The dependency may only point the other way,
offline -> model; today neither tool imports anything from `self_learning`.
"""
