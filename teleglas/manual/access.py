"""Who may run which command: the allowlist, the group-admin rule, the per-user message budget, and one message
at a time per user.

Changing a chat's alerts needs a user id in TELEGRAM_ALLOWED_USER_IDS, and in a group also admin rights
there (asked of Telegram with getChatMember). A channel post carries no user, so it cannot change settings.
Market data is public unless MANUAL_MARKET_DATA_PUBLIC=false; /status (queues, workers) is for the allowed
users unless MANUAL_STATUS_PUBLIC=true. Each refusal says why, and tells the user their id so the operator can
add it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from teleglas.defines import LOG_MANUAL

log = logging.getLogger(__name__)

ADMIN_STATUSES = ("creator", "administrator")
PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class Requester:
    chat_id: int
    chat_type: str  # private, group, supergroup, channel
    user_id: int | None  # None for a channel post


class Access:
    def __init__(
        self,
        allowed_user_ids: frozenset[int],
        market_data_public: bool,
        member_status: Callable[[int, int], str],
        status_public: bool = False,
    ):
        self.allowed = allowed_user_ids
        self.market_data_public = market_data_public
        self.status_public = status_public
        self._member_status = member_status  # (chat, user) → Telegram's ChatMember status

    def refuse_market_data(self, who: Requester) -> str | None:
        if self.market_data_public or self._is_allowed(who):
            return None
        return self._not_allowed(who, "Market data from this bot")

    def refuse_status(self, who: Requester) -> str | None:
        """The alert system's internals (queue depths, workers, dead letters) are not for strangers."""
        if self.status_public or self._is_allowed(who):
            return None
        return self._not_allowed(who, "The alert system's status")

    def _is_allowed(self, who: Requester) -> bool:
        return who.user_id is not None and who.user_id in self.allowed

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
    """(refused, reply): the first message over the budget gets a polite answer, later ones silence, so a
    flood of messages cannot turn into a flood of refusals."""
    if used <= per_minute:
        return False, None
    if used == per_minute + 1:
        return True, f"Easy there: at most {per_minute} messages a minute. Please try again in a minute."
    return True, None


class OneAtATime:
    """Runs each sender's messages one after another on one thread, in order: a user who sends many at once
    (and whose replies then wait for Telegram's per-chat limit) holds one of the bot's handler threads, never
    all of them; the other threads only queue that user's messages and go on with everyone else's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queues: dict[Hashable, deque[Callable[[], None]]] = {}

    def run(self, sender: Hashable, job: Callable[[], None]) -> None:
        with self._lock:
            queue = self._queues.get(sender)
            if queue is not None:  # another thread is working through this sender's messages: it takes this one
                queue.append(job)
                return
            self._queues[sender] = deque()
        current: Callable[[], None] | None = job
        while current is not None:
            try:
                current()
            except Exception:  # one message's bug must not strand the sender's later ones
                log.exception("%s message handling failed", LOG_MANUAL)
            with self._lock:
                queue = self._queues[sender]
                current = queue.popleft() if queue else None
                if current is None:
                    del self._queues[sender]
