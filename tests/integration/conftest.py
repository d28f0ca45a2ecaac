from __future__ import annotations

import pytest

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
