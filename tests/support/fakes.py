"""In-memory stand-ins behind the narrow ports of the sender's stages and the engine, for unit tests that run in
milliseconds. The Lua scripts and the real edges keep their own tests against redis-server and the emulators;
these fakes keep only the contract the stages rely on."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from teleglas.deliver.ratelimit import Guard, Permit, Refusal, Refused
from teleglas.deliver.telegram import DeliveryError
from teleglas.model.chat import ChatId
from teleglas.state.chats import ChatRoute
from teleglas.state.claims import DeliveryState
from teleglas.state.engine import Admission, Candidate, Outcome, StormEnd, StormTake


@dataclass
class FakeLedger:
    """(part, chat) → "sending:<owner>" or the recorded (message_id, next part)."""

    leases: dict[tuple[str, ChatId], str] = field(default_factory=dict)
    records: dict[tuple[str, ChatId], tuple[int, tuple[int, int] | None]] = field(default_factory=dict)

    def delivery_state(self, alert_id: str, chat_id: ChatId) -> DeliveryState:
        if (alert_id, chat_id) in self.records:
            message_id, following = self.records[(alert_id, chat_id)]
            return DeliveryState(message_id, None, 0.0, following)
        if (alert_id, chat_id) in self.leases:
            return DeliveryState(None, self.leases[(alert_id, chat_id)], 5.0)
        return DeliveryState(None, None, 0.0)

    def renew_delivery(self, alert_id: str, chat_id: ChatId, owner: str, lease_s: float) -> bool:
        return self.leases.get((alert_id, chat_id)) == owner

    def release_delivery(self, alert_id: str, chat_id: ChatId, owner: str) -> None:
        if self.leases.get((alert_id, chat_id)) == owner:
            del self.leases[(alert_id, chat_id)]

    def record_delivery(
        self, alert_id: str, chat_id: ChatId, message_id: int, ttl_s: int, next_part: tuple[int, int] | None = None
    ) -> None:
        self.leases.pop((alert_id, chat_id), None)
        self.records[(alert_id, chat_id)] = (message_id, next_part)


@dataclass
class FakeChats:
    migrations: dict[ChatId, ChatId] = field(default_factory=dict)
    disabled: dict[ChatId, str] = field(default_factory=dict)
    token_refused: bool = False

    def chat_route(self, chat_id: ChatId) -> ChatRoute:
        chat = self.migrations.get(chat_id, chat_id)
        return ChatRoute(chat, chat in self.disabled)

    def disable_chat(self, chat_id: ChatId, reason: str) -> bool:
        newly = chat_id not in self.disabled
        self.disabled.setdefault(chat_id, reason)
        return newly

    def enable_chat(self, chat_id: ChatId) -> bool:
        return self.disabled.pop(chat_id, None) is not None

    def migrate_chat(self, old: ChatId, new: ChatId) -> int:
        self.migrations[old] = new
        return 0

    def flag_token_invalid(self, bot_key: str, ttl_s: int) -> bool:
        newly = not self.token_refused
        self.token_refused = True
        return newly


@dataclass
class FakeDeadLetters:
    entries: list[dict] = field(default_factory=list)

    def push_dead_letter(self, entry: dict, ttl_s: int, max_entries: int) -> None:
        self.entries.insert(0, entry)


@dataclass
class FakeLimiter:
    """Grants every send at once unless `busy` says how long a chat must wait; records pauses. It answers from the
    fake chats and ledger first, and a grant takes the lease, as the Lua script does."""

    ledger: FakeLedger
    chats: FakeChats
    busy: dict[ChatId, float] = field(default_factory=dict)
    pauses: list[float] = field(default_factory=list)

    def acquire(self, guard: Guard, chat_id: ChatId, slot: float | None = None) -> Permit | Refused:
        if self.chats.token_refused:
            return Refused(Refusal.TOKEN_INVALID)
        if chat_id in self.chats.migrations:
            return Refused(Refusal.MIGRATED, migrated_to=self.chats.migrations[chat_id])
        if chat_id in self.chats.disabled:
            return Refused(Refusal.DISABLED)
        state = self.ledger.delivery_state(guard.part_id, chat_id)
        if state.message_id is not None or state.sending_owner is not None:
            return Refused(Refusal.DELIVERY, delivery=state)
        wait = self.busy.get(chat_id, 0.0)
        place = slot if slot is not None else 1000.0 + wait
        permit = Permit(wait <= 0.5, wait, place, place)
        if permit.granted:
            self.ledger.leases[(guard.part_id, chat_id)] = guard.owner
        return permit

    def pause(self, seconds: float) -> float:
        self.pauses.append(seconds)
        return seconds


@dataclass
class FakeTelegram:
    """Accepts every message, or answers with the next scripted error for its chat (or for any chat); an error
    scripted for call N (counted from 1) waits for that call."""

    token_key: str = "1-test"
    sent: list[tuple[ChatId, str, bool]] = field(default_factory=list)
    errors: list[tuple[ChatId | None, DeliveryError]] = field(default_factory=list)
    on_call: dict[int, DeliveryError] = field(default_factory=dict)
    calls: int = 0
    can_post: Callable[[ChatId], bool] = lambda _chat: True

    def send(self, chat_id: ChatId, text: str, html: bool) -> int:
        self.calls += 1
        if self.calls in self.on_call:
            raise self.on_call.pop(self.calls)
        for index, (chat, error) in enumerate(self.errors):
            if chat is None or chat == chat_id:
                del self.errors[index]
                raise error
        self.sent.append((chat_id, text, html))
        return len(self.sent)

    def bot_can_post(self, chat_id: ChatId) -> bool:
        return self.can_post(chat_id)


@dataclass
class FakeEngineState:
    """Claims (the first claimer of an event owns it), admission answers scripted per event fingerprint (LEAD unless
    told) for the owner, and the lists a flush takes."""

    outcomes: dict[str, tuple[Outcome, float]] = field(default_factory=dict)
    folded: dict[tuple[str, str, str], list[bytes]] = field(default_factory=dict)
    storms: dict[tuple[str, str, str], list[bytes]] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)
    admitted: list[str] = field(default_factory=list)

    def admit(self, candidates: list[Candidate], *, claimer: str, **_kwargs: object) -> list[Admission]:
        admissions = []
        for candidate in candidates:
            if self.owners.setdefault(candidate.fingerprint, claimer) != claimer:
                admissions.append(Admission(Outcome.DUPLICATE, 0.0, 0, {"LONG": 0.0, "SHORT": 0.0}, []))
                continue
            self.admitted.append(candidate.fingerprint)
            outcome, due = self.outcomes.get(candidate.fingerprint, (Outcome.LEAD, 0.0))
            admissions.append(Admission(outcome, due, 0, {"LONG": 0.0, "SHORT": 0.0}, []))
        return admissions

    def take_folded(self, kind: str, symbol: str, side: str, claimer: str, ttl_s: int, now: float) -> list[bytes]:
        return self.folded.pop((kind, symbol, side), [])

    def take_storm(
        self, kind: str, symbol: str, scope: str, claimer: str, ttl_s: int, now: float, end: StormEnd
    ) -> StormTake:
        """A scripted storm ends at the first flush (when it ends is the script's, tested against Redis)."""
        return StormTake(self.storms.pop((kind, symbol, scope), []), 0.0)


@dataclass
class FakeFigureRedis:
    """What RedisBuffer.flush writes (HINCRBYFLOAT, ZADD, ZREMRANGEBYRANK, EXPIRE in one pipeline), kept in dicts,
    so the tape and the metrics can be read back without a redis-server."""

    hashes: dict[str, dict[str, float]] = field(default_factory=dict)
    zsets: dict[str, dict[str, float]] = field(default_factory=dict)
    ttls: dict[str, int] = field(default_factory=dict)

    def pipeline(self, **_kwargs: object) -> FakeFigureRedis:
        return self

    def __enter__(self) -> FakeFigureRedis:
        return self

    def __exit__(self, *_exc: object) -> None:
        pass

    def hincrbyfloat(self, key: str, name: str, amount: float) -> None:
        fields = self.hashes.setdefault(key, {})
        fields[name] = fields.get(name, 0.0) + amount

    def zadd(self, key: str, mapping: dict[str, float]) -> None:
        self.zsets.setdefault(key, {}).update(mapping)

    def zremrangebyrank(self, key: str, start: int, stop: int) -> None:
        ranked = sorted(self.zsets[key].items(), key=lambda item: (item[1], item[0]))
        for member, _ in ranked[start : stop + 1 if stop != -1 else None]:
            del self.zsets[key][member]

    def expire(self, key: str, ttl_s: int) -> None:
        self.ttls[key] = ttl_s

    def execute(self) -> None:
        pass
