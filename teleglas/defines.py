"""Protocol constants and names shared by every component, kept in one place (cryptofeed's `defines`)."""

# CoinGlass WebSocket protocol (docs/protocols.md, CoinGlass WebSocket: each fact with its doc page).
WS_PING = "ping"
WS_PONG = "pong"
WS_API_KEY_PARAM = "cg-api-key"
CHANNEL_LIQUIDATIONS = "liquidationOrders"
CHANNEL_FUTURES_TRADES = "futures_trades"  # full name: futures_trades@{Exchange}_{SYMBOL}@{minVol}
OTHER_CHANNEL = "other"  # the listener's count of frames naming a channel it did not subscribe to

# Where events come from (SOURCES): CoinGlass's aggregated stream, or an exchange's own public stream. The
# exchange names are spelled as CoinGlass's `exName` spells them, so rules, the tape and the cross-source match
# see one name per exchange whichever source brought the event.
SOURCE_COINGLASS = "coinglass"
SOURCE_BINANCE = "binance"
SOURCE_BYBIT = "bybit"
SOURCE_OKX = "okx"
ALL_SOURCES = (SOURCE_COINGLASS, SOURCE_BINANCE, SOURCE_BYBIT, SOURCE_OKX)
EXCHANGE_OF_SOURCE = {SOURCE_BINANCE: "Binance", SOURCE_BYBIT: "Bybit", SOURCE_OKX: "OKX"}
SOURCE_NAMES = {SOURCE_COINGLASS: "CoinGlass", **EXCHANGE_OF_SOURCE}  # as the start-up message names them

# Binance USDⓈ-M market streams (docs/protocols.md, Exchanges): JSON SUBSCRIBE on the /market route; the server
# sends a protocol ping every 3 min and cuts every connection at 24 h; at most 200 streams a connection (the
# lower of the two published limits).
BINANCE_ALL_LIQUIDATIONS = "!forceOrder@arr"
BINANCE_TRADES_SUFFIX = "@aggTrade"
BINANCE_MAX_STREAMS = 200
BINANCE_MAX_CONNECTION_AGE_S = 23.5 * 3600  # reconnect on our terms before the server's 24 h cut
# Bybit v5 public linear: one topic per symbol, JSON ping every 20 s as the docs recommend.
BYBIT_LIQUIDATIONS_PREFIX = "allLiquidation."
BYBIT_TRADES_PREFIX = "publicTrade."
BYBIT_PING = '{"op": "ping"}'
BYBIT_PING_INTERVAL_S = 20.0
# OKX v5 public: liquidations of every SWAP by instrument type, trades per instrument; text ping before the
# server's 30 s idle cut; notice 64008 announces a disconnect for an upgrade.
OKX_LIQUIDATIONS = "liquidation-orders"
OKX_TRADES = "trades"
OKX_SWAP = "SWAP"
OKX_PING_INTERVAL_S = 20.0
OKX_UPGRADE_NOTICE = "64008"
OKX_INSTRUMENTS_PATH = "/api/v5/public/instruments"
OKX_INSTRUMENTS_REFRESH_S = 3600.0  # new listings; an unknown instrument asks sooner (at most once a minute)
OKX_INSTRUMENTS_RETRY_S = 60.0

# Cross-source match (teleglas.state.crossmatch): the same liquidation or trade from CoinGlass and from the
# exchange itself is one event when exchange, symbol and side agree, the times are within MATCH_TIME_TOLERANCE_MS
# (one Binance snapshot window of 1 s, Bybit's 500 ms push batching and transport) and the USD sizes within
# MATCH_USD_TOLERANCE of the larger (Binance's price and average price can differ by ~0.75 %, and which one
# CoinGlass multiplies is not documented). Index entries live MATCH_KEEP_S after they are written: long enough for
# the other copy to be evaluated too (both travel the same queue), short enough to cost little memory.
MATCH_TIME_TOLERANCE_MS = 2000
MATCH_USD_TOLERANCE = 0.02
MATCH_KEEP_S = 120
# An event no other source of SOURCES can bring is only checked against its own source's copies, by content: one
# index hash per source and MATCH_ALONE_BUCKET_MS of event time (a batch writes one or two, not one per pair).
MATCH_ALONE_BUCKET_MS = 10_000

# Alert rules resolved per (symbol, base asset, exchange) and kept for the next event of the same names
# (teleglas.decide.rules): names come from outside, so the kept set is emptied once it holds this many.
RULES_RESOLVED_MAX = 65_536

# The least quiet that ends a storm before its window (teleglas.decide.rules.StormRule.quiet_gaps), and so how
# soon after its start an open storm is first checked.
STORM_QUIET_MIN_S = 1.0
# A digest round that comes due as a cascade ends waits for its storms (teleglas.state.engine._DIGEST_WAIT), so
# their messages come in this round, not a group interval later: when every open storm has had no event for
# DIGEST_STORM_QUIET_S, or one was taken within DIGEST_STORM_SETTLE_S; it looks again every DIGEST_STORM_POLL_S,
# and waits no longer than DIGEST_STORM_WAIT_S past its due time.
DIGEST_STORM_QUIET_S = 0.5
DIGEST_STORM_SETTLE_S = 0.25
DIGEST_STORM_POLL_S = 0.25
DIGEST_STORM_WAIT_S = 3.0
# The scope of a liquidation storm, which counts both sides (whale clusters are per side).
STORM_ALL_SIDES = "ALL"

# Side codes differ per channel: liquidations name the liquidated position, trades the taker side.
LIQUIDATION_SIDES = {1: "LONG", 2: "SHORT"}
TRADE_SIDES = {1: "SELL", 2: "BUY"}
POSITION_SIDES = {1: "LONG", 2: "SHORT"}  # our coding of a REST whale position: the sign of position_size

# Event kinds carried through the pipeline.
KIND_LIQUIDATION = "liquidation"
KIND_TRADE = "trade"
KIND_WHALE_POSITION = "whale_position"
KIND_FUNDING = "funding"
KIND_OPEN_INTEREST = "open_interest"
KIND_SYSTEM = "system"
WHALE_KINDS = (KIND_TRADE, KIND_WHALE_POSITION)

# Celery queues and task names: the listener publishes by name so it never imports worker code.
QUEUE_EVENTS = "events"
QUEUE_TELEGRAM = "telegram"
QUEUE_CHARTS = "charts"  # rendering, off the text path: `-Q charts` gives it a worker of its own
CHART_NICE = 10  # how much lower a render process runs than the text path (teleglas.charts.apart)
TASK_PROCESS_EVENTS = "teleglas.process_events"  # a frame's events (or a few ms' worth) per task
# The kombu serializer of process_events messages: JSON written by msgspec (teleglas.model.batch), under JSON's own
# content type, so every JSON reader (the workers, Flower, the tests) reads them unchanged.
BATCH_SERIALIZER = "teleglas-json"
TASK_SEND_MESSAGE = "teleglas.send_message"
TASK_FLUSH_AGGREGATE = "teleglas.flush_aggregate"
TASK_FLUSH_DIGEST = "teleglas.flush_digest"
TASK_POLL_WHALES = "teleglas.poll_whales"
TASK_CHECK_FUNDING = "teleglas.check_funding"
TASK_CHECK_OPEN_INTEREST = "teleglas.check_open_interest"
TASK_ANNOUNCE_START = "teleglas.announce_start"
TASK_MEASURE_PRICE_MOVES = "teleglas.measure_price_moves"
TASK_RECHECK_CHAT = "teleglas.recheck_chat"
TASK_RENDER_CHART = "teleglas.render_chart"
TASK_DAILY_RECAP = "teleglas.daily_recap"

# Delayed work in Redis (teleglas.state.due): how often each worker's mover looks, how many it moves at once,
# and how long a taken task stays reserved for the mover that took it before another may publish it.
DUE_POLL_INTERVAL_S = 0.05
DUE_BATCH = 200
DUE_LEASE_S = 10.0

# Where whale alerts come from: the WebSocket stream, or the REST polling fallback.
MODE_WEBSOCKET = "websocket"
MODE_POLLING = "polling"

# Log prefixes users grep for.
LOG_WS = "[WS_CLIENT]"
LOG_ENGINE = "[ALERT_ENGINE]"
LOG_RUNNER = "[RUNNER]"
LOG_SENDER = "[SENDER]"
LOG_MANUAL = "[MANUAL]"
LOG_CHARTS = "[CHARTS]"
LOG_CG_EMULATOR = "[CG_EMULATOR]"
LOG_TG_EMULATOR = "[TG_EMULATOR]"

# Telegram limits (docs/protocols.md, Telegram). Telegram counts the 4096 in code points; TELEGLAS counts UTF-16
# units, the stricter reading (an astral emoji is two), so a part fits whichever count applies.
TELEGRAM_MAX_TEXT_UNITS = 4096
TELEGRAM_MAX_RAW_BYTES = 32768
TELEGRAM_MAX_CAPTION_UNITS = 1024  # sendPhoto's caption, after entity parsing (docs/protocols.md)
# A bot token is `<bot id>:<secret>`; the Bot API server answers 401 "invalid token specified" otherwise.
TELEGRAM_TOKEN_PATTERN = r"^\d+:[A-Za-z0-9_-]+$"
