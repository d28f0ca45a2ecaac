"""The chats alerts go to, as Redis knows them: migrations (group → supergroup), chats that refused the bot,
each chat's own settings, the chats that subscribed through the manual bot, and the bot token refused (401)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import redis

from teleglas.model.chat import ChatId, parse_chat_id
from teleglas.state.client import decoded
from teleglas.state.keys import (
    CHAT_SCOPED_SUFFIXES,
    chat_key,
    chat_key_affixes,
    chat_migrations_key,
    disabled_chats_key,
    subscribers_key,
    token_invalid_key,
)


@dataclass(frozen=True, slots=True)
class ChatRoute:
    chat_id: ChatId  # after following any migration
    disabled: bool


class AlertChat(NamedTuple):
    chat_id: ChatId  # after following any migration
    disabled: bool  # Telegram refused the bot there
    settings: dict[str, str]  # the chat's own settings (teleglas.decide.chat_rules)


# a chat's settings -> (values to set, fields to remove)
SettingsChange = Callable[[dict[str, str]], tuple[dict[str, str], tuple[str, ...]]]

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

# The chats that get alerts, for fan-out, in one round trip (it asks for every alert). KEYS: the subscribers, the
# disabled chats, the migrations. ARGV: the settings key around a chat id (chat_key_affixes), then the configured
# chats. Returns the disabled chats, then per configured chat its migration target and that chat's settings, then
# per subscriber the same three: member, target, settings.
_ALERT_CHATS = """
local out = {redis.call('SMEMBERS', KEYS[2])}
local function add(id)
  local to = redis.call('HGET', KEYS[3], id) or id
  out[#out + 1] = to
  out[#out + 1] = redis.call('HGETALL', ARGV[1] .. to .. ARGV[2])
end
for i = 3, #ARGV do add(ARGV[i]) end
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  out[#out + 1] = member
  add(member)
end
return out
"""


class ChatState:
    """Chat configuration: each method one atomic Redis operation or a read."""

    def __init__(self, client: redis.Redis):
        self.redis = client
        self._alert_chats = client.register_script(_ALERT_CHATS)

    def chat_route(self, chat_id: ChatId) -> ChatRoute:
        """Where a chat's sends go and whether it is disabled there (a send asks the same of its rate-limit call,
        teleglas.deliver.ratelimit.Guard; the disabled chat's re-check asks here)."""
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hget(chat_migrations_key(), str(chat_id))
            pipe.exists(chat_key(chat_id, "disabled"))
            migrated, disabled = pipe.execute()
        if migrated is not None:
            chat_id = parse_chat_id(migrated)
            disabled = self.redis.exists(chat_key(chat_id, "disabled"))
        return ChatRoute(chat_id, bool(disabled))

    def resolve(self, chat_ids: tuple[ChatId, ...] | list[ChatId]) -> list[ChatId]:
        """Where each chat id goes now, after group → supergroup migrations, in order and without repeats."""
        if not chat_ids:
            return []
        migrated = self.redis.hmget(chat_migrations_key(), [str(c) for c in chat_ids])
        return list(dict.fromkeys(parse_chat_id(m) if m is not None else c for c, m in zip(chat_ids, migrated)))

    def alert_chats(self, configured: tuple[ChatId, ...]) -> list[AlertChat]:
        """The chats that get alerts: the configured alert chats, then the chats subscribed through the manual
        bot, after migrations, in order and without repeats, each with whether it is disabled (Telegram refused
        the bot there) and its own settings. Fan-out asks here for every alert: one script, one round trip."""
        before, after = chat_key_affixes("settings")
        reply = self._alert_chats(
            keys=[subscribers_key(), disabled_chats_key(), chat_migrations_key()],
            args=[before, after, *(str(chat) for chat in configured)],
        )
        off = {parse_chat_id(member) for member in reply[0]}
        settings: dict[ChatId, dict[str, str]] = {}
        ordered: list[ChatId] = []
        for target, fields in zip(reply[1 : 1 + 2 * len(configured) : 2], reply[2 : 2 + 2 * len(configured) : 2]):
            ordered.append(parse_chat_id(target))
            settings[ordered[-1]] = _fields(fields)
        subscribed = reply[1 + 2 * len(configured) :]
        for _member, target, fields in sorted(zip(subscribed[::3], subscribed[1::3], subscribed[2::3]), key=_by_id):
            ordered.append(parse_chat_id(target))
            settings[ordered[-1]] = _fields(fields)
        return [AlertChat(chat, chat in off, settings[chat]) for chat in dict.fromkeys(ordered)]

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
        return {chat: decoded(fields) for chat, fields in zip(chats, details)}

    def chat_settings(self, chat_id: ChatId) -> dict[str, str]:
        return decoded(self.redis.hgetall(chat_key(chat_id, "settings")))

    def update_chat_settings(self, chat_id: ChatId, values: dict[str, str], remove: tuple[str, ...] = ()) -> None:
        key = chat_key(chat_id, "settings")
        with self.redis.pipeline(transaction=True) as pipe:
            if values:
                pipe.hset(key, mapping=values)
            if remove:
                pipe.hdel(key, *remove)
            pipe.execute()

    def modify_chat_settings(self, chat_id: ChatId, change: SettingsChange) -> dict[str, str]:
        """Optimistic read-modify-write of a chat's settings: `change(fields)` returns (values to set, fields to
        remove); two commands in one chat at once cannot lose each other's change. Returns the new fields."""
        key = chat_key(chat_id, "settings")
        with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key)
                    fields = decoded(pipe.hgetall(key))
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

    def add_subscriber(self, chat_id: ChatId) -> bool:
        return bool(self.redis.sadd(subscribers_key(), str(chat_id)))

    def remove_subscriber(self, chat_id: ChatId) -> bool:
        return bool(self.redis.srem(subscribers_key(), str(chat_id)))

    def subscribers(self) -> list[ChatId]:
        return sorted((parse_chat_id(m) for m in self.redis.smembers(subscribers_key())), key=str)

    def flag_token_invalid(self, bot_key: str, ttl_s: int) -> bool:
        return bool(self.redis.set(token_invalid_key(bot_key), f"{time.time():.0f}", nx=True, ex=ttl_s))

    def clear_token_invalid(self, bot_key: str) -> bool:
        return bool(self.redis.delete(token_invalid_key(bot_key)))


def _fields(flat: list[bytes]) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in zip(flat[::2], flat[1::2])}


def _by_id(subscriber: tuple[bytes, bytes, list[bytes]]) -> str:
    """Subscribers in the order of their chat ids as text, as the manual bot lists them."""
    return str(parse_chat_id(subscriber[0]))
