"""Claims that make retries harmless: a delivery of (alert part, chat) from free to sending (a lease) to sent (the
message_id), a start-up notice once per quiet period. (An event is claimed by the task that evaluates it in its
admission, teleglas.state.engine.)"""

from __future__ import annotations

import time
from dataclasses import dataclass

import redis

from teleglas.model.chat import ChatId
from teleglas.state.keys import delivery_key, sent_count_key, startup_key

_SENDING = "sending:"

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class DeliveryState:
    message_id: int | None  # set once Telegram accepted it
    sending_owner: str | None  # set while a send is in flight (a lease)
    lease_left_s: float
    next_part: tuple[int, int] | None = None  # (line, char) where the next part of a split text begins


def lease_value(owner: str) -> str:
    """What a delivery holds while `owner` sends it. The lease is taken by the rate limiter's call with the
    send's Guard (teleglas.deliver.ratelimit), in the same atomic step as the send's slot."""
    return _SENDING + owner


def parse_delivery(value: bytes | None, pttl_ms: int) -> DeliveryState:
    if value is None:
        return DeliveryState(None, None, 0.0)
    text = value.decode()
    if text.startswith(_SENDING):
        return DeliveryState(None, text[len(_SENDING) :], max(pttl_ms, 0) / 1000)
    message_id, _, following = text.partition("@")
    line, _, char = following.partition(".")
    return DeliveryState(int(message_id), None, 0.0, (int(line), int(char)) if following else None)


class DeliveryLedger:
    """One (alert part, chat): free → sending (a lease) → sent (the message_id)."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def delivery_state(self, alert_id: str, chat_id: ChatId) -> DeliveryState:
        key = delivery_key(alert_id, chat_id)
        with self.redis.pipeline(transaction=False) as pipe:
            value, pttl = pipe.get(key).pttl(key).execute()
        return parse_delivery(value, pttl)

    def renew_delivery(self, alert_id: str, chat_id: ChatId, owner: str, lease_s: float) -> bool:
        """Extends a lease still held by `owner` (a send still in flight); False when it is no longer ours."""
        key = delivery_key(alert_id, chat_id)
        return bool(self.redis.eval(_RENEW, 1, key, lease_value(owner), int(lease_s * 1000)))

    def release_delivery(self, alert_id: str, chat_id: ChatId, owner: str) -> None:
        """After a failed send: frees the claim if it is still ours, so the retry can take it."""
        self.redis.eval(_RELEASE, 1, delivery_key(alert_id, chat_id), lease_value(owner))

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


class StartupClaims:
    """At most one start-up notice per mode and quiet period."""

    def __init__(self, client: redis.Redis):
        self.redis = client

    def claim_startup(self, mode: str, quiet_s: int, start_id: str) -> bool:
        """At most one start-up message per mode and `quiet_s`, so a crash loop cannot flood the chats; the same
        start (a retried task) keeps its claim."""
        if self.redis.set(startup_key(mode), start_id, nx=True, ex=quiet_s):
            return True
        return self.redis.get(startup_key(mode)) == start_id.encode()
