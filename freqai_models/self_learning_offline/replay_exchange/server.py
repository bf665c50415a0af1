"""HTTP edge of the replay exchange: routing Binance spot REST paths to the response builders.

`ReplayExchange.handle(path, params, now)` is plain request -> (status, body) logic and is what the
tests and the HTTP handler call; `serve()` binds a ThreadingHTTPServer on 127.0.0.1 only.
"""

from __future__ import annotations

import errno
import itertools
import json
import logging
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from self_learning_offline.replay_exchange import binance_api as api
from self_learning_offline.replay_exchange.candles import (
    Market,
    StaticSource,
    interval_ms,
    load_recordings,
)
from self_learning_offline.replay_exchange.ports import PortInUseError, port_holder
from self_learning_offline.replay_exchange.realtime import RealtimeSource

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
DEFAULT_PORT = 8701
DEFAULT_HISTORY = 1500
DEFAULT_TICKER_INTERVAL = "1m"
DEFAULT_KLINES_LIMIT = 500
MAX_KLINES_LIMIT = 1000
EMPTY_EXCHANGE_INFO_PATHS = ("/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo")

Response = tuple[int, dict | list]
Params = dict[str, str]


class RequestError(Exception):
    """A request Binance would reject: carries the HTTP status and the Binance error body."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.body = api.error(code, message)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class ReplayExchange:
    """Answers Binance spot REST requests from recorded candles (static or realtime source)."""

    def __init__(self, markets: dict[str, Market], source: StaticSource | RealtimeSource) -> None:
        self.markets = markets
        self.source = source
        self._update_ids = itertools.count(1)
        self._routes: dict[str, Callable[[Params, int], dict | list]] = {
            "/api/v3/ping": lambda params, now: {},
            "/api/v3/time": lambda params, now: {"serverTime": now},
            "/api/v3/exchangeInfo": self._exchange_info,
            "/api/v3/klines": self._klines,
            "/api/v3/uiKlines": self._klines,
            "/api/v3/ticker/24hr": self._ticker_24hr,
            "/api/v3/ticker/price": self._ticker_price,
            "/api/v3/ticker/bookTicker": self._book_ticker,
            "/api/v3/depth": self._depth,
        }
        for path in EMPTY_EXCHANGE_INFO_PATHS:
            self._routes[path] = lambda params, now: api.exchange_info([], now)

    @property
    def mode(self) -> str:
        return "realtime" if isinstance(self.source, RealtimeSource) else "static"

    def handle(self, path: str, params: Params, now: int) -> Response:
        """Route one GET request -> (HTTP status, JSON body)."""
        route = self._routes.get(path.rstrip("/") or "/")
        if route is None:
            logger.warning(f"Replay exchange: unsupported endpoint {path} - answering 404.")
            return 404, api.error(api.ERROR_UNSUPPORTED, f"Unsupported endpoint {path}.")
        try:
            return 200, route(params, now)
        except RequestError as e:
            logger.info(f"Replay exchange: rejected {path} {params}: {e}")
            return e.status, e.body

    # --- parameters -------------------------------------------------------------------------

    def _market(self, symbol: str | None) -> Market:
        if not symbol:
            raise RequestError(400, api.ERROR_MANDATORY_PARAM,
                               "Mandatory parameter 'symbol' was not sent, was empty/null, or "
                               "malformed.")
        market = self.markets.get(symbol.upper())
        if market is None:
            raise RequestError(400, api.ERROR_BAD_SYMBOL, "Invalid symbol.")
        return market

    def _selected(self, params: Params) -> list[Market] | None:
        """`symbol=X` -> [X]; `symbols=["X","Y"]` -> [X, Y]; neither -> None (all markets)."""
        if "symbol" in params:
            return [self._market(params["symbol"])]
        if "symbols" in params:
            try:
                symbols = json.loads(params["symbols"])
            except json.JSONDecodeError as e:
                raise RequestError(400, api.ERROR_BAD_PARAM, "Invalid 'symbols'.") from e
            if not isinstance(symbols, list):
                raise RequestError(400, api.ERROR_BAD_PARAM, "Invalid 'symbols'.")
            return [self._market(str(symbol)) for symbol in symbols]
        return None

    @staticmethod
    def _int(params: Params, name: str, default: int | None = None) -> int | None:
        if name not in params:
            return default
        try:
            return int(params[name])
        except ValueError as e:
            raise RequestError(400, api.ERROR_BAD_PARAM,
                               f"Illegal characters found in parameter '{name}'.") from e

    # --- endpoints --------------------------------------------------------------------------

    def _exchange_info(self, params: Params, now: int) -> dict:
        selected = self._selected(params)
        markets = list(self.markets.values()) if selected is None else selected
        return api.exchange_info(markets, now)

    def _klines(self, params: Params, now: int) -> list:
        market = self._market(params.get("symbol"))
        interval = params.get("interval")
        if not interval:
            raise RequestError(400, api.ERROR_MANDATORY_PARAM,
                               "Mandatory parameter 'interval' was not sent, was empty/null, or "
                               "malformed.")
        length = interval_ms(interval)
        if length is None:
            raise RequestError(400, api.ERROR_BAD_INTERVAL, "Invalid interval.")
        limit = self._int(params, "limit", DEFAULT_KLINES_LIMIT)
        if not 1 <= limit <= MAX_KLINES_LIMIT:
            raise RequestError(400, api.ERROR_BAD_LIMIT,
                               "Data sent for parameter 'limit' is not valid.")
        start, end = self._int(params, "startTime"), self._int(params, "endTime")
        if start is not None and end is not None and start > end:
            raise RequestError(400, api.ERROR_BAD_PARAM, "startTime must be <= endTime.")
        candles = self.source.klines(market.symbol, length, start, end, limit, now)
        return api.klines(candles, length)

    def _tickers(self, params: Params, now: int, build: Callable) -> dict | list:
        selected = self._selected(params)
        markets = list(self.markets.values()) if selected is None else selected
        entries = [build(market, self.source.current(market.symbol, now)) for market in markets]
        return entries[0] if "symbol" in params else entries

    def _ticker_24hr(self, params: Params, now: int) -> dict | list:
        return self._tickers(params, now, lambda m, w: api.ticker_24hr(m, w, now))

    def _ticker_price(self, params: Params, now: int) -> dict | list:
        return self._tickers(params, now, api.ticker_price)

    def _book_ticker(self, params: Params, now: int) -> dict | list:
        return self._tickers(params, now, api.book_ticker)

    def _depth(self, params: Params, now: int) -> dict:
        market = self._market(params.get("symbol"))
        limit = self._int(params, "limit", api.DEFAULT_DEPTH_LIMIT)
        if not 1 <= limit <= api.MAX_DEPTH_LIMIT:
            raise RequestError(400, api.ERROR_BAD_LIMIT,
                               "Data sent for parameter 'limit' is not valid.")
        current = self.source.current(market.symbol, now)
        return api.depth(market, current, limit, next(self._update_ids))


def make_handler(exchange: ReplayExchange) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to `exchange`."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "ReplayExchange/1"
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            params = {key: values[-1] for key, values in parse_qs(url.query).items()}
            try:
                status, body = exchange.handle(url.path, params, now_ms())
            except Exception:  # a bug must not kill the connection thread silently
                logger.exception(f"Replay exchange: error answering {self.path}")
                status, body = 500, api.error(api.ERROR_UNKNOWN, "Internal error.")
            self._send(status, body)

        def do_POST(self) -> None:  # noqa: N802
            logger.warning(f"Replay exchange: unsupported {self.command} {self.path} - 405.")
            self._send(405, api.error(api.ERROR_UNSUPPORTED, "Only public GET endpoints."))

        do_DELETE = do_PUT = do_POST  # noqa: N815

        def _send(self, status: int, body: dict | list) -> None:
            payload = json.dumps(body, separators=(",", ":")).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args) -> None:  # noqa: A002 - base signature
            logger.debug(f"Replay exchange: {self.address_string()} {format % args}")

    return Handler


def serve(exchange: ReplayExchange, port: int = DEFAULT_PORT) -> ThreadingHTTPServer:
    """Bind (not yet serving) an HTTP server for `exchange` on 127.0.0.1:`port` (0 = any free);
    PortInUseError naming the process that holds the port."""
    try:
        server = ThreadingHTTPServer((HOST, port), make_handler(exchange))
    except OSError as err:
        if err.errno == errno.EADDRINUSE:
            raise PortInUseError(port, "the replay exchange", port_holder(port)) from None
        raise
    server.daemon_threads = True
    return server


def url_of(server: ThreadingHTTPServer) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}"


def build_exchange(
    datadir: Path,
    realtime: bool = False,
    history: int = DEFAULT_HISTORY,
    ticker_interval: str = DEFAULT_TICKER_INTERVAL,
    started_ms: int | None = None,
) -> ReplayExchange:
    """Load `datadir` and build the exchange; ValueError when there is nothing to serve."""
    markets = load_recordings(datadir)
    if not markets:
        raise ValueError(f"No BASE_QUOTE-TF.feather candle files in {datadir}.")
    if not realtime:
        return ReplayExchange(markets, StaticSource(markets))
    ticker_ms = interval_ms(ticker_interval)
    if ticker_ms is None:
        raise ValueError(f"Invalid ticker interval '{ticker_interval}'.")
    started = now_ms() if started_ms is None else started_ms
    return ReplayExchange(markets, RealtimeSource(markets, started, history, ticker_ms))


class BackgroundServer:
    """The exchange served from a daemon thread: `with BackgroundServer(ex, 0) as srv: srv.url`."""

    def __init__(self, exchange: ReplayExchange, port: int = DEFAULT_PORT) -> None:
        self.exchange = exchange
        self.server = serve(exchange, port)
        self.url = url_of(self.server)
        self._thread = threading.Thread(
            target=self.server.serve_forever, name="replay-exchange", daemon=True
        )

    def start(self) -> BackgroundServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
            self._thread.join()
        self.server.server_close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
