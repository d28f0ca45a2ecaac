"""Protocol constants and names shared by every component, kept in one place (cryptofeed's `defines`)."""

# CoinGlass WebSocket protocol (shared/reference/coinglass-api.md).
WS_PING = "ping"
WS_PONG = "pong"
WS_API_KEY_PARAM = "cg-api-key"
CHANNEL_LIQUIDATIONS = "liquidationOrders"
CHANNEL_FUTURES_TRADES = "futures_trades"  # full name: futures_trades@{Exchange}_{SYMBOL}@{minVol}
OTHER_CHANNEL = "other"  # the listener's count of frames naming a channel it did not subscribe to

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
TASK_PROCESS_EVENTS = "teleglas.process_events"  # a frame's events (or a few ms' worth) per task
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

# Telegram limits (shared/reference/telegram-bot-api.md §2).
TELEGRAM_MAX_TEXT_UNITS = 4096
TELEGRAM_MAX_RAW_BYTES = 32768
TELEGRAM_MAX_CAPTION_UNITS = 1024  # sendPhoto's caption, after entity parsing (docs/protocols.md)
# A bot token is `<bot id>:<secret>`; the Bot API server answers 401 "invalid token specified" otherwise.
TELEGRAM_TOKEN_PATTERN = r"^\d+:[A-Za-z0-9_-]+$"
