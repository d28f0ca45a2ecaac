"""Who may run which command: the allowlist, the group-admin rule and the per-user command budget.

Changing a chat's alerts needs a user id in TELEGRAM_ALLOWED_USER_IDS, and in a group also admin rights
there (asked of Telegram with getChatMember). A channel post carries no user, so it cannot change settings.
Market data is public unless MANUAL_MARKET_DATA_PUBLIC=false. Each refusal says why, and tells the user
their id so the operator can add it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ADMIN_STATUSES = ("creator", "administrator")
PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class Requester:
    chat_id: int
    chat_type: str  # private, group, supergroup, channel
    user_id: int | None  # None for a channel post


class Access:
    def __init__(
        self, allowed_user_ids: frozenset[int], market_data_public: bool, member_status: Callable[[int, int], str]
    ):
        self.allowed = allowed_user_ids
        self.market_data_public = market_data_public
        self._member_status = member_status  # (chat, user) → Telegram's ChatMember status

    def refuse_market_data(self, who: Requester) -> str | None:
        if self.market_data_public or (who.user_id is not None and who.user_id in self.allowed):
            return None
        return self._not_allowed(who, "Market data from this bot")

    def refuse_settings_change(self, who: Requester) -> str | None:
        if who.user_id is None:
            return (
                "A channel post cannot change alerts: the bot cannot tell who sent it. Use a private chat or a group."
            )
        if who.user_id not in self.allowed:
            return self._not_allowed(who, "Changing alerts")
        if who.chat_type != PRIVATE and self._member_status(who.chat_id, who.user_id) not in ADMIN_STATUSES:
            return "Only this group's admins can change its alerts."
        return None

    @staticmethod
    def _not_allowed(who: Requester, what: str) -> str:
        whose = "" if who.user_id is None else f" Your Telegram user id is <code>{who.user_id}</code>."
        return f"{what} is limited to the users in TELEGRAM_ALLOWED_USER_IDS.{whose}"


def over_budget_reply(used: int, per_minute: int) -> tuple[bool, str | None]:
    """(refused, reply): the first command over the budget gets a polite answer, later ones silence, so a
    flood of commands cannot turn into a flood of refusals."""
    if used <= per_minute:
        return False, None
    if used == per_minute + 1:
        return True, f"Easy there: at most {per_minute} commands a minute. Please try again in a minute."
    return True, None
