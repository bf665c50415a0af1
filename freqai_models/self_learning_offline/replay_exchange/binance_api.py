"""Pure builders of Binance spot REST response bodies (the shapes ccxt's `binance` parses).

Numbers are sent as Binance does, as decimal strings, in positional notation and with the
shortest digits that round-trip the float exactly (so downloaded candles equal the recording).
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from self_learning_offline.replay_exchange.candles import Candles, Market

TRADING = "TRADING"
SPOT = "SPOT"
ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]
# Minimum order value per quote asset, like Binance's NOTIONAL filter (0 for others).
MIN_NOTIONAL = {"USDT": 5.0, "USDC": 5.0, "FDUSD": 5.0, "BUSD": 5.0, "BTC": 0.0001, "ETH": 0.001}
# Largest order: MAX_ORDER_VALUE of the quote asset (Binance's maxNotional) and at least
# MAX_QTY units, so the quantity cap never binds before the value cap, whatever the price
# level (a 1e-6 USDT coin needs ~1e12 units for the same order as 1e-1 BTC).
MAX_QTY = 9_000_000.0
MAX_ORDER_VALUE = 9_000_000.0
BOOK_SPREAD = 1e-4  # best ask - best bid, as a fraction of the price
BOOK_LEVEL_GAP = 5e-5  # distance between book levels, as a fraction of the price
DEFAULT_DEPTH_LIMIT = 100
MAX_DEPTH_LIMIT = 5000

# Binance error codes used here.
ERROR_UNKNOWN = -1000
ERROR_UNSUPPORTED = -1020
ERROR_MANDATORY_PARAM = -1102
ERROR_BAD_PARAM = -1100
ERROR_BAD_INTERVAL = -1120
ERROR_BAD_SYMBOL = -1121
ERROR_BAD_LIMIT = -1130


def num(value: float) -> str:
    """Binance decimal string: positional, shortest exact round-trip ('0.0000531', '42000')."""
    return np.format_float_positional(float(value), unique=True, trim="-")


def error(code: int, message: str) -> dict:
    return {"code": code, "msg": message}


def tick_size(price: float) -> float:
    """Price increment with about six significant digits, between 1e-8 and 1."""
    exponent = math.floor(math.log10(price)) - 6 if price > 0 else -8
    return 10.0 ** min(0, max(-8, exponent))


def step_size(price: float) -> float:
    """Quantity increment worth roughly 1e-4..1e-3 of the quote asset, between 1e-8 and 1."""
    exponent = math.floor(math.log10(1.0 / price)) - 4 if price > 0 else -8
    return 10.0 ** min(0, max(-8, exponent))


def max_qty(price: float) -> float:
    """LOT_SIZE maxQty at `price`: MAX_ORDER_VALUE's worth in whole units, at least MAX_QTY."""
    return float(max(MAX_QTY, math.ceil(MAX_ORDER_VALUE / price))) if price > 0 else MAX_QTY


def reference_price(market: Market) -> float:
    """Smallest positive low of the finest recording: the precision must suit every price."""
    lows = market.finest.low
    positive = lows[lows > 0]
    return float(positive.min()) if len(positive) else 1.0


def symbol_info(market: Market) -> dict:
    """One entry of exchangeInfo `symbols`."""
    price = reference_price(market)
    tick, step = tick_size(price), step_size(price)
    return {
        "symbol": market.symbol,
        "status": TRADING,
        "baseAsset": market.base,
        "baseAssetPrecision": 8,
        "quoteAsset": market.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": num(tick),
                "maxPrice": num(1_000_000.0),
                "tickSize": num(tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": num(step),
                "maxQty": num(max_qty(price)),
                "stepSize": num(step),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": num(MIN_NOTIONAL.get(market.quote, 0.0)),
                "applyMinToMarket": True,
                "maxNotional": num(MAX_ORDER_VALUE),
                "applyMaxToMarket": False,
                "avgPriceMins": 5,
            },
        ],
        "permissions": [],
        "permissionSets": [[SPOT]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def exchange_info(markets: list[Market], server_time: int) -> dict:
    """/api/v3/exchangeInfo (also used, with no markets, for futures exchangeInfo)."""
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
             "limit": 6000},
        ],
        "exchangeFilters": [],
        "symbols": [symbol_info(market) for market in markets],
    }


def klines(candles: Candles, length_ms: int) -> list[list]:
    """/api/v3/klines rows."""
    rows = []
    for time, open_, high, low, close, volume in zip(*candles.columns(), strict=True):
        rows.append([
            int(time), num(open_), num(high), num(low), num(close), num(volume),
            int(time) + length_ms - 1, num(volume * close), trade_count(volume),
            num(volume / 2), num(volume * close / 2), "0",
        ])
    return rows


def trade_count(volume: float) -> int:
    return int(math.sqrt(max(volume, 0.0))) + 1


def book_top(close: float, tick: float) -> tuple[float, float]:
    """Best bid and ask around `close`, on the tick grid, at least one tick apart."""
    half = max(tick, close * BOOK_SPREAD) / 2
    bid = math.floor((close - half) / tick + 1e-9) * tick
    ask = max(bid + tick, math.ceil((close + half) / tick - 1e-9) * tick)
    return round_to_tick(bid, tick), round_to_tick(ask, tick)


def round_to_tick(price: float, tick: float) -> float:
    return round(price, max(0, -math.floor(math.log10(tick) + 1e-9)))


def depth(market: Market, current: Candles, limit: int, update_id: int) -> dict:
    """/api/v3/depth: a deterministic book of `limit` levels a side around the current close."""
    close = float(current.close[-1])
    tick, step = tick_size(reference_price(market)), step_size(reference_price(market))
    bid, ask = book_top(close, tick)
    gap = max(tick, round_to_tick(close * BOOK_LEVEL_GAP, tick))
    rng = np.random.default_rng([zlib.crc32(market.symbol.encode()), int(current.time[-1])])
    typical = max(step, float(np.median(current.volume)) / 200.0)
    quantities = typical * rng.lognormal(0.0, 0.8, size=(2, limit))
    levels = np.arange(limit)
    bids = [[num(round_to_tick(bid - i * gap, tick)), num(round_qty(q, step))]
            for i, q in zip(levels, quantities[0], strict=True) if bid - i * gap > 0]
    asks = [[num(round_to_tick(ask + i * gap, tick)), num(round_qty(q, step))]
            for i, q in zip(levels, quantities[1], strict=True)]
    return {"lastUpdateId": update_id, "bids": bids, "asks": asks}


def round_qty(quantity: float, step: float) -> float:
    return max(step, round(math.floor(quantity / step) * step, 8))


def ticker_24hr(market: Market, window: Candles, now: int) -> dict:
    """/api/v3/ticker/24hr entry over `window` (its last row is the current candle)."""
    tick = tick_size(reference_price(market))
    close = float(window.close[-1])
    open_ = float(window.open[0])
    bid, ask = book_top(close, tick)
    volume = float(window.volume.sum())
    quote_volume = float((window.volume * window.close).sum())
    previous = float(window.close[-2]) if len(window) > 1 else open_
    return {
        "symbol": market.symbol,
        "priceChange": num(close - open_),
        "priceChangePercent": num(round((close / open_ - 1) * 100, 3) if open_ else 0.0),
        "weightedAvgPrice": num(quote_volume / volume if volume else close),
        "prevClosePrice": num(previous),
        "lastPrice": num(close),
        "lastQty": num(step_size(reference_price(market))),
        "bidPrice": num(bid),
        "bidQty": num(1.0),
        "askPrice": num(ask),
        "askQty": num(1.0),
        "openPrice": num(open_),
        "highPrice": num(float(window.high.max())),
        "lowPrice": num(float(window.low.min())),
        "volume": num(volume),
        "quoteVolume": num(quote_volume),
        "openTime": int(window.time[0]),
        "closeTime": now,
        "firstId": 0,
        "lastId": len(window) - 1,
        "count": len(window),
    }


def ticker_price(market: Market, window: Candles) -> dict:
    """/api/v3/ticker/price entry."""
    return {"symbol": market.symbol, "price": num(float(window.close[-1]))}


def book_ticker(market: Market, window: Candles) -> dict:
    """/api/v3/ticker/bookTicker entry."""
    bid, ask = book_top(float(window.close[-1]), tick_size(reference_price(market)))
    return {
        "symbol": market.symbol,
        "bidPrice": num(bid),
        "bidQty": num(1.0),
        "askPrice": num(ask),
        "askQty": num(1.0),
    }
