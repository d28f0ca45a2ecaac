"""A chat's alert settings as the manual bot changes them: the chat's settings hash (read by the alert
engine at fan-out, see alerts/chat_rules.py) and the set of chats that subscribed through the bot."""

from __future__ import annotations

from dataclasses import dataclass

from teleglas.decide.chat_rules import ChatRules, parse_chat_rules
from teleglas.model.chat import ChatId
from teleglas.state.chats import ChatState

SYMBOLS = "symbols"
MUTED_UNTIL = "muted_until"
WHALE_ALERTS = "whale_alerts"


def _symbols(fields: dict[str, str]) -> list[str]:
    return [s for s in fields.get(SYMBOLS, "").split(",") if s]


@dataclass(frozen=True, slots=True)
class ChatAlertView:
    fields: dict[str, str]
    rules: ChatRules
    configured: bool  # in TELEGRAM_ALERT_CHAT_IDS: gets every alert unless narrowed
    subscribed: bool  # joined through /subscribe

    @property
    def symbols(self) -> list[str]:
        return _symbols(self.fields)


class ChatAlerts:
    def __init__(self, chats: ChatState, configured_chats: tuple[ChatId, ...]):
        self.chats = chats
        self.configured = configured_chats

    def view(self, chat_id: ChatId) -> ChatAlertView:
        fields = self.chats.chat_settings(chat_id)
        subscribed = str(chat_id) in {str(c) for c in self.chats.subscribers()}
        # A configured group that became a supergroup is still configured under its new id.
        configured = chat_id in self.chats.resolve(self.configured)
        return ChatAlertView(fields, parse_chat_rules(fields), configured, subscribed)

    def subscribe(self, chat_id: ChatId, coin: str, kinds: list[str]) -> list[str]:
        """Adds the coin (with its own kinds, or every kind); returns the chat's coins."""

        def change(fields: dict[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
            symbols = sorted(set(_symbols(fields)) | {coin})
            values = {SYMBOLS: ",".join(symbols)}
            if kinds:
                values[f"kinds:{coin}"] = ",".join(kinds)
            return values, () if kinds else (f"kinds:{coin}",)

        fields = self.chats.modify_chat_settings(chat_id, change)
        self.chats.add_subscriber(chat_id)
        return _symbols(fields)

    def unsubscribe(self, chat_id: ChatId, coin: str) -> list[str] | None:
        """Removes the coin; None when the chat had not subscribed to it. A chat left without coins stops
        getting alerts, unless it is a configured alert chat, which then gets every coin again."""
        found: list[bool] = []

        def change(fields: dict[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
            symbols = _symbols(fields)
            found[:] = [coin in symbols]
            if coin not in symbols:
                return {}, ()
            rest = [s for s in symbols if s != coin]
            drop = (f"kinds:{coin}",) + (() if rest else (SYMBOLS,))
            return ({SYMBOLS: ",".join(rest)} if rest else {}), drop

        fields = self.chats.modify_chat_settings(chat_id, change)
        if not found[0]:
            return None
        remaining = _symbols(fields)
        if not remaining:
            self.chats.remove_subscriber(chat_id)
        return remaining

    def set_threshold(self, chat_id: ChatId, coin: str, field: str, usd: float) -> None:
        self.chats.update_chat_settings(chat_id, {f"{field}:{coin}": f"{usd:.0f}"})

    def mute(self, chat_id: ChatId, until: float) -> None:
        self.chats.update_chat_settings(chat_id, {MUTED_UNTIL: f"{until:.0f}"})

    def unmute(self, chat_id: ChatId) -> bool:
        was_muted = MUTED_UNTIL in self.chats.chat_settings(chat_id)
        self.chats.update_chat_settings(chat_id, {}, remove=(MUTED_UNTIL,))
        return was_muted

    def set_whale_alerts(self, chat_id: ChatId, on: bool) -> None:
        if on:
            self.chats.update_chat_settings(chat_id, {}, remove=(WHALE_ALERTS,))
        else:
            self.chats.update_chat_settings(chat_id, {WHALE_ALERTS: "off"})
