"""Every Redis key TELEGLAS uses, in one place (the registry): callers never build key strings themselves, and
a reviewer audits every key and its lifetime here. The modules beside this one read and write them, one
concern each.

Lifetimes, by family:
- config (no TTL: changes only when Telegram or an operator says so): a chat's settings, its disabled mark,
  the disabled-chats set, chat migrations, subscribers;
- work (no TTL: drained as it is done, like Celery's own queues): the due-work set, its tasks and in-flight set,
  the dead letters (capped, and expire after DEADLETTER_TTL);
- bounded (every other key): a TTL set where the key is written.
"""

from __future__ import annotations

from teleglas.model.chat import ChatId

PREFIX = "teleglas"
# Chat-scoped configuration that follows a group when Telegram migrates it to a supergroup.
CHAT_SCOPED_SUFFIXES = ("settings", "disabled")


def event_key(fingerprint: str) -> str:
    return f"{PREFIX}:event:{fingerprint}"


def delivery_key(alert_id: str, chat_id: ChatId) -> str:
    return f"{PREFIX}:delivered:{alert_id}:{chat_id}"


def listener_status_key(listener_id: str) -> str:
    return f"{PREFIX}:listener:{listener_id}"


def chat_key(chat_id: ChatId, suffix: str) -> str:
    return f"{PREFIX}:chat:{chat_id}:{suffix}"


def chat_key_affixes(suffix: str) -> tuple[str, str]:
    """chat_key(chat_id, suffix) as the text before and after the chat id, for a script that builds the key."""
    return f"{PREFIX}:chat:", f":{suffix}"


def subscribers_key() -> str:
    return f"{PREFIX}:subscribers"


def sent_count_key(minute: int) -> str:
    return f"{PREFIX}:sent:{minute}"


def command_count_key(user_id: int, minute: int) -> str:
    return f"{PREFIX}:manual:commands:{user_id}:{minute}"


def chat_migrations_key() -> str:
    return f"{PREFIX}:chat_migrations"


def token_invalid_key(bot_key: str) -> str:
    return f"{PREFIX}:bot:{bot_key}:unauthorized"


def deadletters_key() -> str:
    return f"{PREFIX}:deadletters"


def rate_bot_last_key(bot_id: str) -> str:
    return f"{PREFIX}:rate:{bot_id}:last"


def rate_bot_pause_key(bot_id: str) -> str:
    return f"{PREFIX}:rate:{bot_id}:pause"


def rate_chat_last_key(bot_id: str, chat_id: ChatId) -> str:
    return f"{PREFIX}:rate:{bot_id}:chat:{chat_id}:last"


def rate_chat_next_key(bot_id: str, chat_id: ChatId) -> str:
    return f"{PREFIX}:rate:{bot_id}:chat:{chat_id}:next"


def decision_key(fingerprint: str) -> str:
    return f"{PREFIX}:decision:{fingerprint}"


def recent_key(kind: str, symbol: str) -> str:
    return f"{PREFIX}:recent:{kind}:{symbol}"


def storm_key(kind: str, symbol: str, scope: str) -> str:
    return f"{PREFIX}:storm:{kind}:{symbol}:{scope}"


def storm_started_key(kind: str, symbol: str, scope: str) -> str:
    return f"{PREFIX}:storm:{kind}:{symbol}:{scope}:started"


def storms_open_key() -> str:
    """Every open storm's list key, scored by its latest event: digest rounds wait for storms that are ending."""
    return f"{PREFIX}:storms:open"


def storm_closed_key() -> str:
    """When a storm was last taken: its alert is being routed, so a digest round waits a moment for it."""
    return f"{PREFIX}:storms:closed"


def cooldown_key(kind: str, symbol: str, side: str) -> str:
    return f"{PREFIX}:cooldown:{kind}:{symbol}:{side}"


def folded_key(kind: str, symbol: str, side: str) -> str:
    return f"{PREFIX}:folded:{kind}:{symbol}:{side}"


def taken_key(source: str, claimer: str) -> str:
    return f"{source}:taken:{claimer}"


def route_key(alert_id: str, chat_id: ChatId) -> str:
    return f"{PREFIX}:route:{alert_id}:{chat_id}"


def digest_buffer_key(chat_id: ChatId) -> str:
    return f"{PREFIX}:digest:{chat_id}:buffer"


def digest_last_direct_key(chat_id: ChatId) -> str:
    return f"{PREFIX}:digest:{chat_id}:last_direct"


def digest_flushed_key(chat_id: ChatId) -> str:
    return f"{PREFIX}:digest:{chat_id}:flushed"


def digest_due_key(chat_id: ChatId) -> str:
    return f"{PREFIX}:digest:{chat_id}:due"


def worker_heartbeat_key(hostname: str) -> str:
    return f"{PREFIX}:worker:{hostname}"


def rest_cache_key(request: str) -> str:
    return f"{PREFIX}:rest:cache:{request}"


def rest_budget_key(minute: int) -> str:
    return f"{PREFIX}:rest:budget:{minute}"


def rest_plan_limit_key() -> str:
    """The requests per minute CoinGlass last reported for the key's plan (bounded: refreshed by every answer)."""
    return f"{PREFIX}:rest:plan_limit"


def manual_rest_budget_key(minute: int) -> str:
    """The manual bot's part of rest_budget_key: capped at its share, so the alert system keeps the rest."""
    return f"{PREFIX}:rest:budget:{minute}:manual"


def check_claim_key(check: str, subject: str) -> str:
    return f"{PREFIX}:check:{check}:{subject}"


def oi_samples_key(symbol: str) -> str:
    return f"{PREFIX}:oi:{symbol}"


def whale_poll_key() -> str:
    return f"{PREFIX}:whale_poll:last"


def metric_key(name: str) -> str:
    return f"{PREFIX}:metrics:{name}"


def hourly_metric_key(name: str, hour: int) -> str:
    return f"{PREFIX}:metrics:{name}:h{hour}"


def tape_liquidations_key(bucket: int) -> str:
    return f"{PREFIX}:tape:liquidations:{bucket}"


def tape_largest_key(minute: int) -> str:
    return f"{PREFIX}:tape:largest:{minute}"


def tape_prices_key(bucket: int) -> str:
    return f"{PREFIX}:tape:prices:{bucket}"


def tape_day_liquidations_key(bucket: int) -> str:
    """The day tape's coarser buckets (teleglas.state.tape.DAY_BUCKET_S), for 24 h charts and the daily recap."""
    return f"{PREFIX}:tape:day:liquidations:{bucket}"


def tape_day_prices_key(bucket: int) -> str:
    return f"{PREFIX}:tape:day:prices:{bucket}"


def tape_day_largest_key(hour: int) -> str:
    return f"{PREFIX}:tape:day:largest:{hour}"


def chart_key(chart_id: str) -> str:
    """A rendered chart (PNG bytes), kept CHART_TTL for the sends that carry it."""
    return f"{PREFIX}:chart:{chart_id}"


def history_alerts_key() -> str:
    return f"{PREFIX}:history:alerts"


def history_sent_key() -> str:
    return f"{PREFIX}:history:sent"


def price_move_key(alert_id: str) -> str:
    return f"{PREFIX}:history:move:{alert_id}"


def startup_key(mode: str) -> str:
    return f"{PREFIX}:startup:{mode}"


# Delayed work (teleglas.state.due): drained by the workers' movers, so no TTL, like Celery's own queues.
def due_key() -> str:
    return f"{PREFIX}:due"


def due_tasks_key() -> str:
    return f"{PREFIX}:due:tasks"


def due_inflight_key() -> str:
    return f"{PREFIX}:due:inflight"


def disabled_chats_key() -> str:
    """The ids of the disabled chats (configuration, no TTL), so nothing has to SCAN for them."""
    return f"{PREFIX}:chats:disabled"


def bell_key(queue_list: str) -> str:
    """The doorbell of a broker queue list (teleglas.ops.broker_transport): work, drained by the consumers."""
    return f"{queue_list}:bell"


def workers_key() -> str:
    """Worker hostnames by their last heartbeat: a registry, so nothing SCANs the keyspace (bounded: pruned)."""
    return f"{PREFIX}:workers"


def listeners_key() -> str:
    """Listener ids by their last status write (bounded: pruned)."""
    return f"{PREFIX}:listeners"


def match_key(kind: str, exchange: str, symbol: str, side: int, bucket: int, source: str) -> str:
    """The cross-source match index (teleglas.state.crossmatch): one source's events of a (kind, exchange, symbol,
    side) in one time bucket (bounded: MATCH_KEEP_S)."""
    return f"{PREFIX}:match:{kind}:{exchange}:{symbol}:{side}:{bucket}:{source}"


def match_alone_key(source: str, bucket: int) -> str:
    """The match index of events no other source can bring (teleglas.state.crossmatch): one source's events of
    one MATCH_ALONE_BUCKET_MS, looked up by their whole content (bounded: MATCH_KEEP_S)."""
    return f"{PREFIX}:match:alone:{source}:{bucket}"
