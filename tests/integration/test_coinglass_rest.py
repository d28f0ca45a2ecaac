"""The REST client against the CoinGlass emulator over a real socket: envelope, every fault mode, the shared
request budget sized by the plan's rate-limit headers, the cache, and no key in any error."""

import http.server
import threading
import time

import pytest
import requests

from teleglas.devstack.emulators.coinglass import CoinGlassEmulator
from teleglas.source.coinglass.rest import (
    CoinGlassAuthError,
    CoinGlassPlanError,
    CoinGlassRateLimited,
    CoinGlassRest,
    CoinGlassServerError,
)
from teleglas.state.budgets import RestBudget, RestCache

KEY = "rest-test-key-0123456789abcdef"
WHALES = "/api/hyperliquid/whale-alert"
OI = "/api/futures/open-interest/exchange-list"


@pytest.fixture
def emulator():
    emu = CoinGlassEmulator([], {"ws-key"}, rest_keys={KEY}).start()
    yield emu
    emu.stop()


def client(emulator, state, key=KEY, per_minute=100, clock=time.time) -> CoinGlassRest:
    return CoinGlassRest(
        f"http://127.0.0.1:{emulator.port}",
        key,
        RestBudget(state.redis, clock=clock),
        RestCache(state.redis),
        per_minute,
        timeout_s=5,
    )


def test_data_comes_out_of_the_envelope_and_the_cache_saves_a_request(emulator, state):
    rest = client(emulator, state)
    whales = rest.get(WHALES, cache_s=5)
    assert len(whales) == 4 and whales[0]["symbol"] == "BTC"
    assert rest.get(WHALES, cache_s=5) == whales
    oi = rest.get(OI, {"symbol": "ETH"}, cache_s=5)
    assert oi[0]["exchange"] == "All"
    assert [path for path, _ in emulator.rest.requests] == [WHALES, OI]


@pytest.mark.parametrize(
    "kind, error, text",
    [
        ("bad_key", CoinGlassAuthError, "refused the API key"),
        ("rate_limit", CoinGlassRateLimited, "rate limit"),
        ("server_error", CoinGlassServerError, "HTTP 500"),
        ("plan", CoinGlassPlanError, "whale-alert is not available on this key's CoinGlass plan"),
        ("plan_401", CoinGlassPlanError, "(the docs ask for Startup or higher): CoinGlass said 'Upgrade plan'"),
    ],
)
def test_each_fault_mode_is_a_typed_error(emulator, state, kind, error, text):
    emulator.rest.add_fault(WHALES, kind)
    with pytest.raises(error) as info:
        client(emulator, state).get(WHALES)
    assert text in str(info.value) and KEY not in str(info.value)
    assert client(emulator, state).get(WHALES)  # the next request is answered again


def test_a_wrong_key_is_refused_without_showing_it(emulator, state):
    with pytest.raises(CoinGlassAuthError) as info:
        client(emulator, state, key="not-the-key-000000000000").get(WHALES)
    assert "not-the-key" not in str(info.value)


def test_the_budget_per_minute_is_shared_by_every_client(emulator, state):
    first, second = client(emulator, state, per_minute=3), client(emulator, state, per_minute=3)
    first.get(WHALES)
    second.get(WHALES)
    first.get(OI, {"symbol": "BTC"})
    with pytest.raises(CoinGlassRateLimited, match="budget of 3 requests/minute is used up"):
        second.get(OI, {"symbol": "ETH"})
    assert len(emulator.rest.requests) == 3


def test_the_budget_follows_the_plan_coinglass_reports_capped_by_the_setting(emulator, state):
    """Before any answer the budget is the smallest plan's 30; then the plan's API-KEY-MAX-LIMIT, at most the
    setting; a key used up by another tool (API-KEY-USE-LIMIT above our count) leaves less for us."""
    minute = 60 * 29_000_000.0  # one fixed minute for both sides: the test cannot straddle two
    emulator.rest.plan_limit = 5
    emulator.rest.clock = lambda: minute + 1
    rest = client(emulator, state, per_minute=100, clock=lambda: minute + 2)
    assert rest.per_minute() == 30
    for _ in range(2):  # another tool sharing the key
        requests.get(f"http://127.0.0.1:{emulator.port}{OI}", params={"symbol": "BTC"}, headers={"CG-API-KEY": KEY})
    rest.get(WHALES)
    assert rest.per_minute() == 5
    rest.get(OI, {"symbol": "BTC"})
    rest.get(OI, {"symbol": "ETH"})
    with pytest.raises(CoinGlassRateLimited, match=r"budget of 5 requests/minute is used up \(the key's plan"):
        rest.get(WHALES)
    assert len(emulator.rest.requests) == 5  # CoinGlass never saw a request over the plan
    assert client(emulator, state, per_minute=3, clock=lambda: minute + 2).per_minute() == 3


def within_one_minute() -> None:
    """The budget is per calendar minute: start a count well inside one."""
    if time.time() % 60 > 57:
        time.sleep(60.5 - time.time() % 60)


def test_the_manual_bot_gets_at_most_its_share_and_the_alert_system_always_keeps_the_rest(emulator, state):
    """10 requests a minute, the manual bot's share 0.5: however hard it pulls, 5 stay for beat's checks."""
    within_one_minute()
    manual_budget = RestBudget(state.redis, manual_share=0.5)
    manual = CoinGlassRest(f"http://127.0.0.1:{emulator.port}", KEY, manual_budget, RestCache(state.redis), 10)
    beat = client(emulator, state, per_minute=10)
    answered = 0
    for _ in range(20):
        try:
            manual.get(WHALES)
            answered += 1
        except CoinGlassRateLimited:
            pass
    assert answered == 5 and manual_budget.left(10) == 0
    for _ in range(5):
        beat.get(WHALES)  # the alert system's share, untouched by the flood
    with pytest.raises(CoinGlassRateLimited):
        beat.get(WHALES)  # and the whole budget is the plan's
    assert len(emulator.rest.requests) == 10


def test_the_alert_system_may_use_the_whole_budget_and_then_the_manual_bot_gets_nothing(state):
    within_one_minute()
    beat, manual = RestBudget(state.redis), RestBudget(state.redis, manual_share=0.5)
    assert all(beat.take(10) for _ in range(8))
    assert manual.left(10) == 2 and manual.take(10) and manual.take(10) and not manual.take(10)
    assert not beat.take(10) and beat.left(10) == 0
    assert RestBudget(state.redis, manual_share=0).left(10) == 0  # a share of 0: no market commands at all


def test_no_answer_is_a_server_error(state):
    from teleglas.devstack.local_stack import free_port

    rest = CoinGlassRest(
        f"http://127.0.0.1:{free_port()}", KEY, RestBudget(state.redis), RestCache(state.redis), 10, timeout_s=2
    )
    with pytest.raises(CoinGlassServerError, match="did not answer"):
        rest.get(WHALES)


class FixedBodyHandler(http.server.BaseHTTPRequestHandler):
    """Answers every GET with HTTP 200 and the server's `body`, whatever it is."""

    def do_GET(self):
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"code": "0", "msg": "success", "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"code": "0", "data": ' + b'{"a": ' * 100_000 + b"1" + b"}" * 100_001,
    ],
)
def test_a_body_nested_too_deep_to_parse_is_a_server_error(state, body):
    """json raises RecursionError (not ValueError) for it: it must not escape the client as one."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FixedBodyHandler)
    server.body = body
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rest = CoinGlassRest(
            f"http://127.0.0.1:{server.server_port}",
            KEY,
            RestBudget(state.redis),
            RestCache(state.redis),
            10,
            timeout_s=5,
        )
        with pytest.raises(CoinGlassServerError, match="not its envelope"):
            rest.get(WHALES)
    finally:
        server.shutdown()
        server.server_close()
