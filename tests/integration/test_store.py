"""Event dedupe, delivery records, chat state and dead letters against a real redis-server."""

from teleglas.state.engine import Candidate, Decision, EngineStore, Outcome
from teleglas.state.keys import delivery_key, digest_last_direct_key, event_key, recent_key
from tests.support.state import take_lease


def candidate(fingerprint: str, symbol: str = "BTCUSDT") -> Candidate:
    entry = f"{fingerprint}|LONG|600000.0|60000.0|1|Binance"
    return Candidate(fingerprint, "liquidation", symbol, "LONG", entry, False, 60.0, 10, 5e6, 300.0)


def admitted(store: EngineStore, candidates: list[Candidate], claimer: str, now: float = 1_000.0) -> list[Outcome]:
    admissions = store.admit(
        candidates, claimer=claimer, horizon_s=120.0, score_window_s=300.0, memo_ttl_s=60, now=now, keep_s=3600
    )
    return [admission.outcome for admission in admissions]


def test_first_claimer_and_its_redelivery_win_others_lose(state):
    store = EngineStore(state.redis)
    assert admitted(store, [candidate("fp")], "task-1") == [Outcome.LEAD]
    assert admitted(store, [candidate("fp")], "task-1", now=1_001.0) == [Outcome.LEAD]  # redelivered: its decision
    assert admitted(store, [candidate("fp")], "task-2") == [Outcome.DUPLICATE]  # a second listener's copy, a replay
    assert state.redis.zcard(recent_key("liquidation", "BTCUSDT")) == 1  # which changed nothing
    # A batch: each event claimed and admitted on its own, in order, in one round trip.
    batch = [candidate("fp"), candidate("fp2", "ETHUSDT"), candidate("fp3", "ETHUSDT")]
    assert admitted(store, batch, "task-2") == [Outcome.DUPLICATE, Outcome.LEAD, Outcome.FOLD]
    assert admitted(store, [candidate("fp3", "ETHUSDT"), candidate("fp")], "task-1") == [
        Outcome.DUPLICATE,
        Outcome.LEAD,
    ]
    assert admitted(store, [], "task-1") == []
    state.redis.script_flush()  # Redis restarted without its scripts: loaded again, the calls run again
    assert admitted(store, batch, "task-2") == [Outcome.DUPLICATE, Outcome.LEAD, Outcome.FOLD]
    assert 0 < state.redis.ttl(event_key("fp")) <= 60


def test_delivery_record_has_a_ttl(state):
    assert state.ledger.delivery_state("alert", -100).message_id is None
    state.ledger.record_delivery("alert", -100, 17, 120)
    assert state.ledger.delivery_state("alert", -100).message_id == 17
    assert 0 < state.redis.ttl(delivery_key("alert", -100)) <= 120


def test_delivery_lease_lets_one_sender_in_and_only_its_owner_release_it(state):
    assert take_lease(state.redis, "alert", 42, "task-a", 5.0)
    assert not take_lease(state.redis, "alert", 42, "task-b", 5.0)
    delivery = state.ledger.delivery_state("alert", 42)
    assert delivery.message_id is None and delivery.sending_owner == "task-a" and 4.0 < delivery.lease_left_s <= 5.0
    state.ledger.release_delivery("alert", 42, "task-b")  # not the owner: nothing happens
    assert state.ledger.delivery_state("alert", 42).sending_owner == "task-a"
    state.ledger.release_delivery("alert", 42, "task-a")
    assert take_lease(state.redis, "alert", 42, "task-b", 5.0)
    state.ledger.record_delivery("alert", 42, 9, 60)
    assert state.ledger.delivery_state("alert", 42) == type(delivery)(9, None, 0.0)
    assert not take_lease(state.redis, "alert", 42, "task-c", 5.0)  # a recorded delivery is never claimed again


def test_migration_moves_chat_settings_and_rewrites_older_migrations(state):
    state.chats.update_chat_settings(-4001, {"liquidation_min_usd": "250000"})
    state.chats.disable_chat(-4001, "Forbidden: bot was kicked from the group chat")
    state.chats.migrate_chat(-3001, -4001)  # an older hop that must now lead to the newest id
    assert state.chats.migrate_chat(-4001, -1004001) == 2
    assert state.chats.chat_settings(-1004001) == {"liquidation_min_usd": "250000"}
    assert (
        state.chats.chat_settings(-4001) == {}
        and -4001 not in state.chats.disabled_chats()
        and -1004001 in state.chats.disabled_chats()
    )
    assert state.chats.chat_migrations() == {-3001: -1004001, -4001: -1004001}
    assert state.chats.chat_route(-3001).chat_id == -1004001


def test_alert_chats_follow_migrations_and_mark_disabled_chats(state):
    state.chats.migrate_chat(-4001, -1004001)
    assert state.chats.disable_chat(42, "Forbidden: bot was blocked by the user")
    assert not state.chats.disable_chat(42, "again")  # only the first refusal is news
    assert [c[:2] for c in state.chats.alert_chats((-4001, 42, "@news", -1004001))] == [
        (-1004001, False),
        (42, True),
        ("@news", False),
    ]
    assert state.chats.disabled_chats() == {
        42: {"reason": "Forbidden: bot was blocked by the user", "since": state.chats.disabled_chats()[42]["since"]}
    }
    assert (
        state.chats.enable_chat(42)
        and state.chats.alert_chats((42,)) == [(42, False, {})]
        and state.chats.disabled_chats() == {}
    )


def test_alert_chats_add_the_subscribers_in_id_order_each_with_its_own_settings(state):
    for chat in (77, -3001, "@news", 5):
        state.chats.add_subscriber(chat)
    state.chats.migrate_chat(-3001, -1003001)
    state.chats.update_chat_settings(-1003001, {"min_usd": "5000000"})
    state.chats.update_chat_settings(42, {"muted_until": "9"})
    assert state.chats.alert_chats((42, 5)) == [
        (42, False, {"muted_until": "9"}),
        (5, False, {}),  # configured and subscribed: once, where it is configured
        (-1003001, False, {"min_usd": "5000000"}),  # "-3001" < "5" < "77" < "@news", then followed
        (77, False, {}),
        ("@news", False, {}),
    ]


def test_a_disabled_chat_that_migrates_stays_disabled_under_its_new_id(state):
    state.chats.disable_chat(-4001, "Forbidden: bot was kicked from the group chat")
    state.chats.migrate_chat(-4001, -1004001)
    assert list(state.chats.disabled_chats()) == [-1004001]
    assert state.chats.alert_chats((-4001,)) == [(-1004001, True, {})]


def test_a_part_of_a_split_text_records_where_the_next_part_begins(state):
    state.ledger.record_delivery("alert", 42, 7, 60, next_part=(12, 0))
    state.ledger.record_delivery("alert/12.0", 42, 8, 60, next_part=(20, 4096))
    state.ledger.record_delivery("alert/20.4096", 42, 9, 60)
    assert [state.ledger.delivery_state(p, 42).next_part for p in ("alert", "alert/12.0", "alert/20.4096")] == [
        (12, 0),
        (20, 4096),
        None,
    ]
    assert state.ledger.delivery_state("alert/12.0", 42).message_id == 8


def test_a_lease_is_renewed_only_by_its_owner(state):
    assert take_lease(state.redis, "alert", 42, "task-a", 1.0)
    assert not state.ledger.renew_delivery("alert", 42, "task-b", 30.0)
    assert state.ledger.renew_delivery("alert", 42, "task-a", 30.0)
    assert state.ledger.delivery_state("alert", 42).lease_left_s > 25


def test_dead_letters_are_newest_first_capped_and_expire(state):
    for i in range(5):
        state.dead_letters.push_dead_letter({"alert_id": f"a{i}"}, ttl_s=100, max_entries=3)
    letters = state.dead_letters.dead_letters()
    assert [entry["alert_id"] for _, entry in letters] == ["a4", "a3", "a2"]
    assert 0 < state.redis.ttl("teleglas:deadletters") <= 100
    assert state.dead_letters.remove_dead_letter(letters[1][0]) and [
        e["alert_id"] for _, e in state.dead_letters.dead_letters()
    ] == ["a4", "a2"]


def test_a_redelivered_route_asks_again_for_the_digest_flush(state):
    """A task that routed an alert into a digest and died before publishing the flush leaves the digest
    waiting; its redelivery must ask for the flush again (found by `make chaos`: one alert lost in 721)."""
    engine_store = EngineStore(state.redis)
    chat, now = -100777, 1_000.0
    assert engine_store.route("a1", chat, "entry-a1", 3.0, 2.0, 10.0, 600, now).decision is Decision.DIRECT
    first = engine_store.route("a2", chat, "entry-a2", 3.0, 2.0, 10.0, 600, now + 0.5)
    assert first.decision == "buffered" and first.flush_due_s == 2.0
    again = engine_store.route("a2", chat, "entry-a2", 3.0, 2.0, 10.0, 600, now + 1.0)  # the redelivery
    assert again.decision == "buffered" and abs(again.flush_due_s - 1.5) < 1e-6
    assert (
        engine_store.route("a1", chat, "entry-a1", 3.0, 2.0, 10.0, 600, now + 1.0).flush_due_s == 0
    )  # a direct send asks for none
    assert state.redis.llen(f"teleglas:digest:{chat}:buffer") == 1  # and nothing was buffered twice


def test_an_alert_routed_second_with_the_earlier_clock_reading_is_spaced_by_the_distance_not_the_order(state):
    """Two pool processes read their clocks before routing: the second to reach Redis may carry the earlier time.
    With a 1 ms spacing, alerts 20 ms apart both go direct whichever arrives first; with 1 s they share a digest."""
    engine_store = EngineStore(state.redis)
    now = 2_000.0
    assert engine_store.route("b1", 501, "entry-b1", 0.001, 2.0, 10.0, 600, now).decision is Decision.DIRECT
    assert engine_store.route("b2", 501, "entry-b2", 0.001, 2.0, 10.0, 600, now - 0.02).decision is Decision.DIRECT
    assert float(state.redis.get(digest_last_direct_key(501))) == now  # the later of the two stays the last send
    assert engine_store.route("c1", 502, "entry-c1", 1.0, 2.0, 10.0, 600, now).decision is Decision.DIRECT
    assert engine_store.route("c2", 502, "entry-c2", 1.0, 2.0, 10.0, 600, now - 0.02).decision == "buffered"
