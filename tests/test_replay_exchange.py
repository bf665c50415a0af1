"""Replay exchange: Binance spot REST semantics over real sockets on 127.0.0.1, ccxt, freqtrade."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import ccxt
import numpy as np
import pandas as pd
import pytest

from self_learning_offline.market import generate_candles
from self_learning_offline.replay_exchange import BackgroundServer, build_exchange
from self_learning_offline.replay_exchange.candles import MINUTE_MS, load_recordings, select_window
from self_learning_offline.replay_exchange.overlay import overlay_text, replay_overlay
from self_learning_offline.replay_exchange.realtime import RealtimeSource

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data" / "binance"
OVERLAY = ROOT / "config.replay.json"
VENV_BIN = Path(sys.executable).parent
FIVE_MINUTES = 5 * MINUTE_MS

needs_data = pytest.mark.skipif(not DATA_DIR.is_dir(), reason=f"{DATA_DIR} not present")


def get(url: str) -> tuple[int, object]:
    """GET -> (status, parsed JSON body), 4xx/5xx included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def feather(name: str) -> pd.DataFrame:
    return pd.read_feather(DATA_DIR / name)


def ms(dates: pd.Series) -> np.ndarray:
    return dates.dt.as_unit("ms").astype("int64").to_numpy()


def overlay_for(url: str) -> dict:
    """config.replay.json for the server at `url`."""
    return replay_overlay(int(url.rsplit(":", 1)[1]))


@pytest.fixture(scope="module")
def static_server():
    if not DATA_DIR.is_dir():
        pytest.skip(f"{DATA_DIR} not present")
    with BackgroundServer(build_exchange(DATA_DIR), port=0) as server:
        yield server


@pytest.fixture
def generated_dir(tmp_path: Path) -> Path:
    """Two small generated 5m recordings (400 candles each)."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for pair in ("BTC/USDT", "ETH/USDT"):
        frame = generate_candles(pair, "5m", start, 400, seed=7)
        frame.to_feather(tmp_path / f"{pair.replace('/', '_')}-5m.feather")
    return tmp_path


@needs_data
def test_klines_paging_reproduces_feather(static_server):
    """Paging /api/v3/klines with startTime = last open + 1 returns exactly the feather file."""
    source = feather("ADA_BTC-5m.feather")
    times, close_times, rows, start = [], [], [], 0
    while True:
        status, page = get(f"{static_server.url}/api/v3/klines?symbol=ADABTC&interval=5m"
                           f"&startTime={start}&limit=1000")
        assert status == 200 and len(page) <= 1000
        if not page:
            break
        times += [row[0] for row in page]
        close_times += [row[6] for row in page]
        rows += [[float(value) for value in row[1:6]] for row in page]
        start = page[-1][0] + 1
    assert times == ms(source["date"]).tolist()
    np.testing.assert_array_equal(np.array(rows), source[["open", "high", "low", "close",
                                                          "volume"]].to_numpy())
    assert close_times == [t + FIVE_MINUTES - 1 for t in times]


@needs_data
def test_klines_window_semantics(static_server):
    """startTime/endTime are inclusive on open time, limit caps at 1000, default 500, errors 4xx."""
    times = ms(feather("ADA_BTC-5m.feather")["date"])
    url = f"{static_server.url}/api/v3/klines?symbol=ADABTC&interval=5m"
    _, rows = get(f"{url}&startTime={times[10]}&endTime={times[15]}")
    assert [row[0] for row in rows] == times[10:16].tolist()
    _, rows = get(f"{url}&startTime={times[10] + 1}&limit=3")
    assert [row[0] for row in rows] == times[11:14].tolist()
    _, rows = get(f"{url}&endTime={times[100]}&limit=5")
    assert [row[0] for row in rows] == times[96:101].tolist()
    _, rows = get(url)
    assert [row[0] for row in rows] == times[-500:].tolist()
    status, body = get(f"{url}&limit=1001")
    assert status == 400 and body["code"] == -1130
    status, body = get(f"{static_server.url}/api/v3/klines?symbol=NOPE&interval=5m")
    assert status == 400 and body["code"] == -1121
    status, body = get(f"{static_server.url}/api/v3/klines?symbol=ADABTC&interval=7m")
    assert status == 400 and body["code"] == -1120


def test_select_window_is_binance_semantics():
    """Pure window selection: inclusive bounds, limit from the start or back from the end."""
    times = np.array([0, 10, 20, 30, 40])
    assert select_window(times, 10, 30, 10) == (1, 4)
    assert select_window(times, 11, None, 2) == (2, 4)
    assert select_window(times, None, 30, 2) == (2, 4)
    assert select_window(times, None, None, 3) == (2, 5)
    assert select_window(times, 41, None, 3) == (5, 5)


@needs_data
def test_static_aggregates_coarser_intervals(static_server):
    """1h klines in static mode aggregate the 5m recording on the hour grid."""
    source = feather("ADA_BTC-5m.feather").set_index("date")
    expected = source.resample("1h").agg({"open": "first", "high": "max", "low": "min",
                                          "close": "last", "volume": "sum"}).dropna()
    _, rows = get(f"{static_server.url}/api/v3/klines?symbol=ADABTC&interval=1h&startTime=0"
                  "&limit=50")
    assert [row[0] for row in rows] == ms(expected.index.to_series())[:50].tolist()
    np.testing.assert_allclose([float(row[2]) for row in rows], expected["high"][:50], rtol=0)
    np.testing.assert_allclose([float(row[5]) for row in rows], expected["volume"][:50],
                               rtol=1e-12)


@needs_data
def test_exchange_info_lists_every_file(static_server):
    """Every BASE_QUOTE-TF.feather in the datadir is one TRADING spot symbol."""
    status, info = get(f"{static_server.url}/api/v3/exchangeInfo")
    assert status == 200
    expected = {path.stem.split("-")[0].replace("_", "") for path in DATA_DIR.glob("*.feather")}
    assert {entry["symbol"] for entry in info["symbols"]} == expected
    assert all(entry["status"] == "TRADING" and entry["isSpotTradingAllowed"]
               for entry in info["symbols"])


@needs_data
def test_unknown_endpoint_is_a_binance_error(static_server):
    """Unsupported paths answer 404 with a Binance-style JSON error body."""
    status, body = get(f"{static_server.url}/sapi/v1/capital/config/getall")
    assert status == 404
    assert body["code"] == -1020 and "getall" in body["msg"]


def test_unknown_endpoint_is_logged(generated_dir, caplog):
    """The exchange logs a warning naming an unsupported endpoint and answers a 4xx error."""
    exchange = build_exchange(generated_dir)
    with caplog.at_level("WARNING"):
        status, body = exchange.handle("/api/v3/myTrades", {}, 0)
    assert status == 404 and body["code"] == -1020
    assert "/api/v3/myTrades" in caplog.text


@needs_data
def test_ccxt_loads_markets_and_ohlcv_through_overlay(static_server):
    """Real ccxt.binance with the overlay's ccxt_config: spot markets only, exact candles."""
    ccxt_config = overlay_for(static_server.url)["exchange"]["ccxt_config"]
    exchange = ccxt.binance(ccxt_config)
    markets = exchange.load_markets()
    assert set(markets) == {"ADA/BTC", "DASH/BTC", "ETC/BTC", "LTC/BTC", "UNITTEST/BTC",
                            "XLM/BTC", "XMR/BTC"}
    assert all(market["spot"] and market["active"] for market in markets.values())
    source = feather("ETC_BTC-5m.feather")
    since = int(ms(source["date"])[100])
    candles = exchange.fetch_ohlcv("ETC/BTC", "5m", since=since, limit=20)
    expected = source.iloc[100:120]
    assert [c[0] for c in candles] == ms(expected["date"]).tolist()
    np.testing.assert_array_equal([c[1:] for c in candles],
                                  expected[["open", "high", "low", "close", "volume"]].to_numpy())
    ticker = exchange.fetch_ticker("ETC/BTC")
    assert ticker["last"] == source["close"].iloc[-1]
    book = exchange.fetch_order_book("ETC/BTC", limit=5)
    assert book["bids"][0][0] < ticker["last"] < book["asks"][0][0]
    assert abs(exchange.fetch_time() - time.time() * 1000) < 5_000


def test_committed_overlay_is_the_generated_one_for_the_default_port():
    """config.replay.json is overlay.py's output for port 8701, and every Binance API base
    URL ccxt knows points at the replay exchange (an API group added by a ccxt upgrade
    fails here until the file is regenerated)."""
    committed = json.loads(OVERLAY.read_text())
    assert committed == replay_overlay(8701)
    urls = replay_overlay(9123)["exchange"]["ccxt_config"]["urls"]["api"]
    assert set(urls) == set(ccxt.binance().urls["api"])
    assert all(url.startswith("http://127.0.0.1:9123/") for url in urls.values())
    assert urls["public"] == "http://127.0.0.1:9123/api/v3"


def test_overlay_for_a_port_is_the_committed_file_on_that_port():
    """What the benchmarks (backtest_runs.py, soak.py) and the e2e tests write for their
    replay exchange's port (overlay.write_replay_overlay) is config.replay.json, byte for
    byte, with its address moved to that port (what they wrote by text replacement before)."""
    moved = OVERLAY.read_text().replace("127.0.0.1:8701", "127.0.0.1:34567")
    assert overlay_text(34567) == moved


def test_realtime_mapping_is_deterministic_and_advances(generated_dir):
    """Injected clock: `history` candles up to now, one more per interval, history unchanged."""
    markets = load_recordings(generated_dir)
    started = 1_750_000_000_000 + 12_345
    source = RealtimeSource(markets, started, history=50)
    recorded = markets["BTCUSDT"].finest
    first = source.klines("BTCUSDT", MINUTE_MS, 0, None, 1000, started)
    assert len(first) == 50
    assert first.time[-1] == started // MINUTE_MS * MINUTE_MS
    np.testing.assert_array_equal(first.close[:-1], recorded.close[:49])
    later = source.klines("BTCUSDT", MINUTE_MS, 0, None, 1000, started + MINUTE_MS)
    assert len(later) == 51 and later.time[-1] == first.time[-1] + MINUTE_MS
    assert later.close[49] == recorded.close[49]  # the formerly partial candle is now complete
    partial = first.take(slice(-1, None))
    assert partial.open[0] == recorded.open[49]
    assert partial.low[0] <= min(partial.open[0], partial.close[0])
    assert partial.high[0] >= max(partial.open[0], partial.close[0])
    assert partial.volume[0] < recorded.volume[49]


def test_realtime_loops_with_continuous_prices(generated_dir):
    """Past the end of the recording the sequence restarts, scaled to open at the last close."""
    markets = load_recordings(generated_dir)
    recorded = markets["ETHUSDT"].finest
    source = RealtimeSource(markets, 1_750_000_000_000, history=len(recorded) + 5)
    candles = source.klines("ETHUSDT", MINUTE_MS, 0, None, 1000, 1_750_000_000_000)
    n = len(recorded)
    assert candles.open[n] == pytest.approx(candles.close[n - 1], rel=1e-12)
    assert np.all(np.diff(candles.time) == MINUTE_MS)


def test_realtime_server_serves_live_1s_candles(generated_dir):
    """Over a real socket, 1s klines end at the current second and a new one arrives each second;
    tickers and the order book follow the current candle's close."""
    exchange = build_exchange(generated_dir, realtime=True, history=30, ticker_interval="1s")
    with BackgroundServer(exchange, port=0) as server:
        url = f"{server.url}/api/v3/klines?symbol=BTCUSDT&interval=1s&limit=1000"
        _, before = get(url)
        assert len(before) == 30
        assert abs(before[-1][0] - time.time() * 1000) < 2_000
        time.sleep(2.1)
        _, after = get(url)
        assert after[-1][0] - before[-1][0] >= 2_000
        assert len(after) == len(before) + (after[-1][0] - before[-1][0]) // 1000
        _, ticker = get(f"{server.url}/api/v3/ticker/24hr?symbol=BTCUSDT")
        _, last = get(f"{url}&limit=1")
        assert abs(float(ticker["lastPrice"]) / float(last[-1][4]) - 1) < 0.01
        _, book = get(f"{server.url}/api/v3/depth?symbol=BTCUSDT&limit=10")
        assert len(book["bids"]) == len(book["asks"]) == 10
        assert float(book["bids"][0][0]) < float(book["asks"][0][0])
        _, prices = get(f"{server.url}/api/v3/ticker/price")
        assert {entry["symbol"] for entry in prices} == {"BTCUSDT", "ETHUSDT"}


def run_cli(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "self_learning_offline.replay_exchange", *args],
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("args", "flag"), [
    (["--datadir", "/nonexistent/dir"], "--datadir"),
    (["--datadir", ".", "--port", "70000"], "--port"),
    (["--datadir", ".", "--history", "0"], "--history"),
    (["--datadir", ".", "--ticker-interval", "7m"], "--ticker-interval"),
])
def test_cli_bad_args_name_the_flag(args, flag):
    """Invalid arguments exit with code 2 and a message naming the offending flag."""
    result = run_cli(*args)
    assert result.returncode == 2
    assert flag in result.stderr


def test_cli_empty_datadir_names_the_flag(tmp_path):
    """A folder without candle files is refused, naming --datadir."""
    result = run_cli("--datadir", str(tmp_path), "--port", "0")
    assert result.returncode == 2
    assert "--datadir" in result.stderr and "feather" in result.stderr


def test_cli_logs_url_and_stops_on_sigterm(generated_dir):
    """The CLI logs one start line with URL and markets, serves, and exits 0 on SIGTERM."""
    process = subprocess.Popen(
        [sys.executable, "-m", "self_learning_offline.replay_exchange",
         "--datadir", str(generated_dir), "--port", "0", "--realtime"],
        stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        match = re.search(r"serving at (http://127\.0\.0\.1:\d+) - 2 markets: BTC/USDT, ETH/USDT",
                          line)
        assert match, line
        assert get(f"{match.group(1)}/api/v3/ping") == (200, {})
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert "stopped" in process.stderr.read()
    finally:
        if process.poll() is None:
            process.kill()


@pytest.mark.e2e
@needs_data
def test_freqtrade_download_data_round_trip(static_server, tmp_path):
    """`freqtrade download-data` through config.replay.json stores exactly the source candles."""
    overlay = tmp_path / "config.replay.json"
    overlay.write_text(json.dumps(overlay_for(static_server.url)))
    (tmp_path / "user_data").mkdir()
    result = subprocess.run(
        [str(VENV_BIN / "freqtrade"), "download-data", "--exchange", "binance",
         "--pairs", "ADA/BTC", "--timeframes", "5m", "--timerange", "20180110-20180112",
         "--datadir", str(tmp_path / "data"), "--userdir", str(tmp_path / "user_data"),
         "-c", str(overlay)],
        capture_output=True, text=True, timeout=90, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    downloaded = pd.read_feather(tmp_path / "data" / "ADA_BTC-5m.feather")
    source = feather("ADA_BTC-5m.feather")
    assert len(downloaded) > 500
    expected = source[source["date"].isin(downloaded["date"])].reset_index(drop=True)
    assert len(expected) == len(downloaded)
    assert ms(downloaded["date"]).tolist() == ms(expected["date"]).tolist()
    columns = ["open", "high", "low", "close", "volume"]
    np.testing.assert_array_equal(downloaded[columns].to_numpy(), expected[columns].to_numpy())



@pytest.mark.parametrize("price", [1e-7, 3e-6, 0.2, 3e3, 9e4])
def test_order_size_limits_follow_the_price_level(price):
    """At any price level (PEPE's 1e-6 USDT to BTC's 1e5) the largest order LOT_SIZE allows
    is worth at least the NOTIONAL filter's maxNotional, so a stake is capped by value, as on
    Binance, never by a unit count that only suits one price level; the smallest order is worth
    at most a little of the quote asset."""
    from self_learning_offline.replay_exchange.binance_api import symbol_info
    from self_learning_offline.replay_exchange.candles import Candles, Market

    prices = price * np.array([1.0, 1.02, 0.98, 1.01])
    candles = Candles(np.array([0, FIVE_MINUTES, 2 * FIVE_MINUTES, 3 * FIVE_MINUTES]),
                      prices, prices * 1.01, prices * 0.99, prices, np.full(4, 1e3 / price))
    filters = {f["filterType"]: f for f in symbol_info(
        Market("COIN", "USDT", {FIVE_MINUTES: candles}))["filters"]}
    max_value = float(filters["NOTIONAL"]["maxNotional"])
    assert float(filters["LOT_SIZE"]["maxQty"]) * prices.min() * 0.99 >= max_value * 0.999
    assert float(filters["LOT_SIZE"]["minQty"]) * prices.max() <= 1.0
