"""Chat ids and what follows from them alone: a private chat has a positive id, a group, supergroup or channel
a negative one or an @name, and Telegram spaces messages to them differently."""

from __future__ import annotations

from dataclasses import dataclass

ChatId = int | str


def parse_chat_id(raw: str | bytes) -> ChatId:
    text = raw.decode() if isinstance(raw, bytes) else raw
    return text if text.startswith("@") else int(text)


def is_group_chat(chat_id: ChatId) -> bool:
    """Private chats have positive ids; groups and supergroups negative ones; channels also go by @name."""
    return isinstance(chat_id, str) or chat_id < 0


@dataclass(frozen=True, slots=True)
class ChatSpacing:
    """The least time between two messages to one chat: what the digest gate waits for and the rate limiter
    enforces (both from Telegram's limits and TELEGRAM_RATE_MARGIN)."""

    private_s: float
    group_s: float

    def for_chat(self, chat_id: ChatId) -> float:
        return self.group_s if is_group_chat(chat_id) else self.private_s
