from __future__ import annotations

import base64
import json
import re
import threading
import urllib.error
import urllib.request

import pytest
import redis

from teleglas.devstack.local_stack import LocalStack
from tests.support.state import State

pytestmark = pytest.mark.integration


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """One real redis-server for the tests that only need Redis (each flushes it through `state`)."""
    stack = LocalStack(tmp_path_factory.mktemp("redis"))
    stack.start_redis()
    yield stack
    stack.stop()


@pytest.fixture
def state(redis_server) -> State:
    client = redis_server.redis()
    client.flushdb()
    return State.of(client)


@pytest.fixture
def make_stack(tmp_path):
    """Builds LocalStacks under the test's tmp_path and stops every process they started, pass or fail."""
    stacks: list[LocalStack] = []

    def factory(**kwargs) -> LocalStack:
        stack = LocalStack(tmp_path / f"stack{len(stacks)}", **kwargs)
        stacks.append(stack)
        return stack

    yield factory
    for stack in stacks:
        stack.stop()


def alerted(messages: list[dict]) -> list[str]:
    """The title word and symbol of every alert in `messages`, whether sent alone or as a digest line."""
    found = []
    for message in messages:
        lines = message["text"].splitlines()
        if lines[0].startswith("🧾 DIGEST"):
            found += [line.split()[1] for line in lines[1:]]
        else:
            found += [line.split(": ", 1)[1] for line in lines if line.startswith("📊 Symbol: ")][:1]
    return found


def health(port: int) -> tuple[int, dict]:
    """GET 127.0.0.1:port/health: (HTTP status, the JSON report), for a 503 as well as a 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def write_scenario(path, steps) -> str:
    """Writes scenario steps (dicts) as JSON lines; returns the path as the emulator takes it."""
    path.write_text("".join(json.dumps(step, ensure_ascii=False) + "\n" for step in steps), encoding="utf-8")
    return str(path)


class RedisMonitor:
    """Every command Redis receives while it runs (MONITOR), with Celery message bodies decoded, so a test
    can search all task arguments and every value written for a secret."""

    _BODY = re.compile(r'"body": "([A-Za-z0-9+/=]+)"')

    def __init__(self, client: redis.Redis):
        self.commands: list[str] = []
        self._client = client  # redis-py closes the pool when the client is collected
        self._monitor = client.monitor()
        self._monitor.__enter__()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                command = self._monitor.next_command()["command"]
            except (redis.ConnectionError, OSError, AttributeError):
                return  # the monitor connection was closed
            except ValueError:
                self.commands.append("<a MONITOR line redis-py could not parse>")
                continue
            bodies = [base64.b64decode(b).decode("utf-8", "replace") for b in self._BODY.findall(command)]
            self.commands.append("\n".join([command, *bodies]))

    def task_bodies(self) -> list[str]:
        return [line for line in self.commands if "\n" in line]

    def stop(self) -> None:
        self._monitor.__exit__()
        self._thread.join(5)
