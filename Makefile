# SelfLearning for FreqAI - set-up, demo and tests. `make demo` and `make test` do all set-up.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FT     := $(VENV)/bin/freqtrade
STAMP  := $(VENV)/.installed
DEMO_PORT ?= 8701
# The demo market (its own folder: no earlier demo data or downloaded candles are reused):
# 1h candles for config.json's 1h setup (30 training days + 250 start-up candles before a
# three-week backtest), with 5m and 15m candles of the same market for `make dry-run` (5m).
# Its planted edge pulls every minute towards the price's 12-hour average (`--mean-reversion
# 720`: the 5m demo market's one-hour pull on a 12 times longer time scale).
DEMO_DATA := user_data/data/demo
DEMO_PAIRS := BTC/USDT ETH/USDT
DEMO_DAYS ?= 65
DEMO_TIMERANGE ?= 20241224-20250114

.PHONY: install demo dry-run dry-run-backtest test lint bench data clean-demo

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# xgboost's CUDA build (from freqtrade[freqai] before) would clash with xgboost-cpu
	-@$(PY) -m pip uninstall --quiet --yes xgboost nvidia-nccl-cu12 nvidia-nccl-cu13 2>/dev/null
	$(PY) -m pip install --quiet -e ".[dev]"
	@touch $@

data: $(STAMP)
	@# 5m too: the README's by-hand generator writes 1h candles only, and `make dry-run` needs 5m
	@if ls $(DEMO_DATA)/*-1h.feather $(DEMO_DATA)/*-5m.feather >/dev/null 2>&1; then \
		echo "Demo data present in $(DEMO_DATA)"; \
	else \
		$(PY) -m self_learning_offline.market --out $(DEMO_DATA) --pairs $(DEMO_PAIRS) \
			--timeframe 1h 5m 15m --days $(DEMO_DAYS) --end 20250114 --seed 42 \
			--mean-reversion 720; \
	fi

demo: data
	$(PY) scripts/demo.py --port $(DEMO_PORT) --datadir $(DEMO_DATA) --timerange $(DEMO_TIMERANGE)

# Removes what `make demo` wrote (listed in .demo/written.txt): models, results, charts.
clean-demo:
	@if [ -x $(PY) ]; then $(PY) scripts/demo.py --clean; else echo "nothing to clean"; fi

# Offline dry-run: realtime replay exchange, bot and FreqUI/API on 127.0.0.1; Ctrl-C stops all.
# It runs the 5m setup (config.json + config.5m.json): a new candle every 5 minutes, not hourly.
DRY_RUN_API_PORT ?= 8080
dry-run: data
	$(PY) scripts/dry_run.py --port $(DEMO_PORT) --api-port $(DRY_RUN_API_PORT) \
		--datadir $(DEMO_DATA)

# After a dry-run: backtest what its models predicted (--freqai-backtest-live-models), with the
# candles of its period from the replay exchange restarted on its clock.
dry-run-backtest: $(STAMP)
	$(PY) scripts/dry_run_backtest.py --port $(DEMO_PORT) --datadir $(DEMO_DATA)

test: $(STAMP)
	$(PY) -m pytest -q --durations=20

lint: $(STAMP)
	$(VENV)/bin/ruff check freqai_models user_data tests benchmarks scripts

bench: $(STAMP)
	$(PY) benchmarks/online.py
	$(PY) benchmarks/store.py
	$(PY) benchmarks/quality.py --scenario null --no-seed --ablation no_online --jobs 1
	$(PY) benchmarks/quality.py --set usdt-1h --windows holdout --no-seed --ablation no_online --jobs 1
	$(PY) benchmarks/quality.py --set usdt-5m --windows holdout --no-seed --ablation no_online --jobs 1
