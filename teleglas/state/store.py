"""Every Redis key TELEGLAS uses, in one place. Callers never build key strings themselves.

Every key has a TTL except configuration: a chat's settings, its disabled mark and the chat migrations,
which change only when Telegram or an operator says so.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass

import redis

from teleglas.settings import ChatId

PREFIX = "teleglas"
_SENDING = "sending:"
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


def _decoded(fields: dict[bytes, bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in fields.items()}


def parse_chat_id(raw: str | bytes) -> ChatId:
    text = raw.decode() if isinstance(raw, bytes) else raw
    return text if text.startswith("@") else int(text)


@dataclass(frozen=True, slots=True)
class DeliveryState:
    message_id: int | None  # set once Telegram accepted it
    sending_owner: str | None  # set while a send is in flight (a lease)
    lease_left_s: float
    next_part: tuple[int, int] | None = None  # (line, char) where the next part of a split text begins


@dataclass(frozen=True, slots=True)
class ChatRoute:
    chat_id: ChatId  # after following any migration
    disabled: bool
    token_invalid: bool


_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""

# KEYS: the migrations hash, the disabled-chats set, then old/new pairs of chat-scoped keys. ARGV: old id, new id.
_MIGRATE = """
if redis.call('SREM', KEYS[2], ARGV[1]) == 1 then redis.call('SADD', KEYS[2], ARGV[2]) end
local flat = redis.call('HGETALL', KEYS[1])
for i = 1, #flat, 2 do
  if flat[i + 1] == ARGV[1] then redis.call('HSET', KEYS[1], flat[i], ARGV[2]) end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local moved = 0
for i = 3, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 and redis.call('EXISTS', KEYS[i + 1]) == 0 then
    redis.call('RENAME', KEYS[i], KEYS[i + 1])
    moved = moved + 1
  end
end
return moved
"""


class Store:
    """State shared by all workers. Each method is one atomic Redis operation or a read."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def claim_event(self, fingerprint: str, claimer: str, ttl_s: int) -> bool:
        """True for the first claimer of an event, and again for that same claimer (a Celery redelivery of
        the task that claimed it must still finish its work); False for a duplicate from anyone else."""
        key = event_key(fingerprint)
        if self.redis.set(key, claimer, nx=True, ex=ttl_s):
            return True
        return self.redis.get(key) == claimer.encode()

    # -- delivery of one (alert part, chat): free → sending (a lease) → sent (the message_id) ----------

    def delivery_state(self, alert_id: str, chat_id: ChatId) -> DeliveryState:
        key = delivery_key(alert_id, chat_id)
        with self.redis.pipeline(transaction=False) as pipe:
            value, pttl = pipe.get(key).pttl(key).execute()
        if value is None:
            return DeliveryState(None, None, 0.0)
        text = value.decode()
        if text.startswith(_SENDING):
            return DeliveryState(None, text[len(_SENDING) :], max(pttl, 0) / 1000)
        message_id, _, following = text.partition("@")
        line, _, char = following.partition(".")
        return DeliveryState(int(message_id), None, 0.0, (int(line), int(char)) if following else None)

    def claim_delivery(self, alert_id: str, chat_id: ChatId, owner: str, lease_s: float) -> bool:
        """Only one sender at a time per (alert part, chat); the lease ends a dead sender's claim."""
        return bool(self.redis.set(delivery_key(alert_id, chat_id), _SENDING + owner, nx=True, px=int(lease_s * 1000)))

    def renew_delivery(self, alert_id: str, chat_id: ChatId, owner: str, lease_s: float) -> bool:
        """Extends a lease still held by `owner` (a send still in flight); False when it is no longer ours."""
        return bool(self.redis.eval(_RENEW, 1, delivery_key(alert_id, chat_id), _SENDING + owner, int(lease_s * 1000)))

    def release_delivery(self, alert_id: str, chat_id: ChatId, owner: str) -> None:
        """After a failed send: frees the claim if it is still ours, so the retry can take it."""
        self.redis.eval(_RELEASE, 1, delivery_key(alert_id, chat_id), _SENDING + owner)

    def record_delivery(
        self, alert_id: str, chat_id: ChatId, message_id: int, ttl_s: int, next_part: tuple[int, int] | None = None
    ) -> None:
        """The message_id (and where the next part begins, for a part of a split text), and one more message in
        this minute's count (for "sent in the last hour")."""
        minute = sent_count_key(int(time.time() // 60))
        value = f"{message_id}@{next_part[0]}.{next_part[1]}" if next_part is not None else str(message_id)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(delivery_key(alert_id, chat_id), value, ex=ttl_s)
            pipe.incr(minute).expire(minute, 2 * 3600)
            pipe.execute()

    def messages_sent_since(self, seconds: int, now: float) -> int:
        """Messages Telegram accepted in the last `seconds` (whole minutes, at most two hours)."""
        current = int(now // 60)
        minutes = range(current - min(seconds, 7200) // 60 + 1, current + 1)
        return sum(int(v) for v in self.redis.mget([sent_count_key(m) for m in minutes]) if v is not None)

    # -- chats: migrations, disabled chats, per-chat settings -----------------------------------------

    def chat_route(self, chat_id: ChatId, bot_key: str) -> ChatRoute:
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(chat_migrations_key(), str(chat_id))
            pipe.exists(chat_key(chat_id, "disabled"))
            pipe.exists(token_invalid_key(bot_key))
            migrated, disabled, token_invalid = pipe.execute()
        if migrated is not None:
            chat_id = parse_chat_id(migrated)
            disabled = self.redis.exists(chat_key(chat_id, "disabled"))
        return ChatRoute(chat_id, bool(disabled), bool(token_invalid))

    def alert_chats(self, configured: tuple[ChatId, ...]) -> list[tuple[ChatId, bool]]:
        """The configured alert chats, then the chats subscribed through the manual bot, after migrations, in
        order and without repeats, each with whether it is disabled (Telegram refused the bot there)."""
        chat_ids = tuple(configured) + tuple(self.subscribers())
        if not chat_ids:
            return []
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hmget(chat_migrations_key(), [str(c) for c in chat_ids])
            pipe.smembers(disabled_chats_key())
            migrated, disabled = pipe.execute()
        resolved = list(dict.fromkeys(parse_chat_id(m) if m is not None else c for c, m in zip(chat_ids, migrated)))
        off = {parse_chat_id(member) for member in disabled}
        return [(chat, chat in off) for chat in resolved]

    def migrate_chat(self, old: ChatId, new: ChatId) -> int:
        """Follows Telegram's group → supergroup upgrade: later sends to `old` go to `new`, and the chat's
        settings move with it. Returns how many chat-scoped keys moved."""
        keys = [chat_migrations_key(), disabled_chats_key()]
        for suffix in CHAT_SCOPED_SUFFIXES:
            keys += [chat_key(old, suffix), chat_key(new, suffix)]
        return int(self.redis.eval(_MIGRATE, len(keys), *keys, str(old), str(new)))

    def chat_migrations(self) -> dict[ChatId, ChatId]:
        return {parse_chat_id(k): parse_chat_id(v) for k, v in self.redis.hgetall(chat_migrations_key()).items()}

    def disable_chat(self, chat_id: ChatId, reason: str) -> bool:
        """Marks a chat that refused the bot; True only for the call that disabled it (log once)."""
        key = chat_key(chat_id, "disabled")
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "reason", reason)
            pipe.hsetnx(key, "since", f"{time.time():.0f}")
            pipe.sadd(disabled_chats_key(), str(chat_id))
            newly, *_ = pipe.execute()
        return bool(newly)

    def enable_chat(self, chat_id: ChatId) -> bool:
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(chat_key(chat_id, "disabled"))
            pipe.srem(disabled_chats_key(), str(chat_id))
            deleted, _ = pipe.execute()
        return bool(deleted)

    def disabled_chats(self) -> dict[ChatId, dict[str, str]]:
        """Disabled chats with their reason and since when (from the registry set: no SCAN of the keyspace)."""
        chats = sorted((parse_chat_id(m) for m in self.redis.smembers(disabled_chats_key())), key=str)
        with self.redis.pipeline(transaction=False) as pipe:
            for chat in chats:
                pipe.hgetall(chat_key(chat, "disabled"))
            details = pipe.execute()
        return {chat: _decoded(fields) for chat, fields in zip(chats, details)}

    def chat_settings(self, chat_id: ChatId) -> dict[str, str]:
        return _decoded(self.redis.hgetall(chat_key(chat_id, "settings")))

    def chat_settings_many(self, chat_ids: list[ChatId]) -> list[dict[str, str]]:
        with self.redis.pipeline(transaction=False) as pipe:
            for chat in chat_ids:
                pipe.hgetall(chat_key(chat, "settings"))
            return [_decoded(fields) for fields in pipe.execute()]

    def update_chat_settings(self, chat_id: ChatId, values: dict[str, str], remove: tuple[str, ...] = ()) -> None:
        key = chat_key(chat_id, "settings")
        with self.redis.pipeline(transaction=True) as pipe:
            if values:
                pipe.hset(key, mapping=values)
            if remove:
                pipe.hdel(key, *remove)
            pipe.execute()

    # -- chats that subscribed through the manual bot (configuration: no TTL) ----------------------------

    def add_subscriber(self, chat_id: ChatId) -> bool:
        return bool(self.redis.sadd(subscribers_key(), str(chat_id)))

    def remove_subscriber(self, chat_id: ChatId) -> bool:
        return bool(self.redis.srem(subscribers_key(), str(chat_id)))

    def subscribers(self) -> list[ChatId]:
        return sorted((parse_chat_id(m) for m in self.redis.smembers(subscribers_key())), key=str)

    # -- the manual bot's per-user command budget ------------------------------------------------------

    def count_command(self, user_id: int, now: float) -> int:
        """Counts a command against the user's budget; returns how many they sent this minute, this one included."""
        return self._count_in_minute(command_count_key(user_id, int(now // 60)))

    def _count_in_minute(self, key: str) -> int:
        with self.redis.pipeline(transaction=True) as pipe:
            used, _ = pipe.incr(key).expire(key, 120).execute()
        return int(used)

    def modify_chat_settings(self, chat_id: ChatId, change) -> dict[str, str]:
        """Optimistic read-modify-write of a chat's settings: `change(fields)` returns (values to set, fields to
        remove); two commands in one chat at once cannot lose each other's change. Returns the new fields."""
        key = chat_key(chat_id, "settings")
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    fields = _decoded(pipe.hgetall(key))
                    values, remove = change(dict(fields))
                    pipe.multi()
                    if values:
                        pipe.hset(key, mapping=values)
                    if remove:
                        pipe.hdel(key, *remove)
                    pipe.execute()
                    fields.update(values)
                    return {k: v for k, v in fields.items() if k not in remove}
                except redis.WatchError:
                    continue

    # -- the bot token: a 401 stops every sender until a worker start proves the token again ------------

    def flag_token_invalid(self, bot_key: str, ttl_s: int) -> bool:
        return bool(self.redis.set(token_invalid_key(bot_key), f"{time.time():.0f}", nx=True, ex=ttl_s))

    def clear_token_invalid(self, bot_key: str) -> bool:
        return bool(self.redis.delete(token_invalid_key(bot_key)))

    # -- workers and queues, for the health endpoint ------------------------------------------------------

    def write_worker_heartbeat(self, hostname: str, ttl_s: int) -> None:
        self.redis.set(worker_heartbeat_key(hostname), f"{time.time():.3f}", ex=ttl_s)

    def worker_heartbeats(self) -> dict[str, float]:
        keys = list(self.redis.scan_iter(match=worker_heartbeat_key("*"), count=100))
        values = self.redis.mget(keys) if keys else []
        return {k.decode().split(":", 2)[2]: float(v) for k, v in zip(keys, values) if v is not None}

    def queue_depths(self, queues: tuple[str, ...]) -> dict[str, int]:
        with self.redis.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.llen(queue)
            return dict(zip(queues, pipe.execute()))

    def dead_letter_count(self) -> int:
        return int(self.redis.llen(deadletters_key()))

    # -- CoinGlass REST: a shared request budget and a short cache ------------------------------------------

    def take_rest_budget(self, per_minute: int) -> bool:
        """One request from this minute's budget, shared by every process; False when it is used up."""
        return self._count_in_minute(rest_budget_key(int(time.time() // 60))) <= per_minute

    def rest_cache_get(self, request: str) -> bytes | None:
        return self.redis.get(rest_cache_key(request))

    def rest_cache_put(self, request: str, value: str, ttl_s: float) -> None:
        self.redis.set(rest_cache_key(request), value, px=max(1, int(ttl_s * 1000)))

    # -- periodic checks: one alert per subject and cooldown, whichever beat process asks first -----------

    def update_check_state(self, check: str, subject: str, ttl_s: float, update) -> dict[str, str] | None:
        """Optimistic transaction on a check's state hash: `update(previous or None)` returns the new state
        (the decision to alert) or None (no alert); two beat processes cannot both decide the same change."""
        key = check_claim_key(check, subject)
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    previous = _decoded(pipe.hgetall(key)) or None
                    new = update(previous)
                    if new is None:
                        pipe.unwatch()
                        return None
                    if new is previous:
                        pipe.unwatch()
                        return new
                    pipe.multi()
                    pipe.delete(key)
                    pipe.hset(key, mapping=new)
                    pipe.expire(key, max(1, int(ttl_s)))
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    def claim_check(self, check: str, subject: str, claimer: str, ttl_s: float) -> bool:
        """One alert per subject and cooldown; the same claimer (a retried or redelivered task) may finish it."""
        key = check_claim_key(check, subject)
        if self.redis.set(key, claimer, nx=True, px=max(1, int(ttl_s * 1000))):
            return True
        return self.redis.get(key) == claimer.encode()

    def add_oi_sample(
        self, symbol: str, at: float, open_interest_usd: float, keep_s: float
    ) -> list[tuple[float, float]]:
        """Records a sample and returns the samples of the last `keep_s` seconds, oldest first."""
        key = oi_samples_key(symbol)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {f"{at:.3f}|{open_interest_usd!r}": at})
            pipe.zremrangebyscore(key, "-inf", at - keep_s)
            pipe.expire(key, int(keep_s) + 60)
            pipe.zrange(key, 0, -1, withscores=True)
            *_, samples = pipe.execute()
        return [(score, float(member.decode().split("|", 1)[1])) for member, score in samples]

    def mark_whale_poll(self, at: float, ttl_s: int) -> None:
        """A successful REST whale poll: polling mode's sign of life for the health report."""
        self.redis.set(whale_poll_key(), f"{at:.3f}", ex=ttl_s)

    def last_whale_poll(self) -> float | None:
        value = self.redis.get(whale_poll_key())
        return float(value) if value is not None else None

    def claim_startup(self, mode: str, quiet_s: int, start_id: str) -> bool:
        """At most one start-up message per mode and `quiet_s`, so a crash loop cannot flood the chats; the same
        start (a retried task) keeps its claim."""
        if self.redis.set(startup_key(mode), start_id, nx=True, ex=quiet_s):
            return True
        return self.redis.get(startup_key(mode)) == start_id.encode()

    # -- dead letters: sends that ran out of retries, newest first, kept for replay ------------------------

    def push_dead_letter(self, entry: dict, ttl_s: int, max_entries: int) -> None:
        key = deadletters_key()
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.lpush(key, json.dumps(entry, ensure_ascii=False, sort_keys=True))
            pipe.ltrim(key, 0, max_entries - 1)
            pipe.expire(key, ttl_s)
            pipe.execute()

    def dead_letters(self) -> list[tuple[bytes, dict]]:
        """(raw entry, parsed entry) pairs; the raw form is what `remove_dead_letter` takes."""
        return [(raw, json.loads(raw)) for raw in self.redis.lrange(deadletters_key(), 0, -1)]

    def remove_dead_letter(self, raw: bytes) -> bool:
        return bool(self.redis.lrem(deadletters_key(), 1, raw))

    def write_listener_status(self, listener_id: str, fields: dict[str, str | int | float], ttl_s: int) -> None:
        """One MULTI: the hash and its TTL together, so a dead listener's status simply expires."""
        key = listener_status_key(listener_id)
        with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=fields)
            pipe.expire(key, ttl_s)
            pipe.execute()

    def listener_statuses(self) -> dict[str, dict[str, str]]:
        statuses = {}
        for key in self.redis.scan_iter(match=listener_status_key("*"), count=100):
            fields = self.redis.hgetall(key)
            if fields:
                statuses[key.decode().rsplit(":", 1)[-1]] = _decoded(fields)
        return statuses


@functools.lru_cache(maxsize=8)
def redis_client(url: str) -> redis.Redis:
    """One connection pool per URL and process; redis-py clients are thread-safe."""
    return redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5, health_check_interval=30)
