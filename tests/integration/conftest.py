from __future__ import annotations

import json

import pytest

from teleglas.local_stack import LocalStack

pytestmark = pytest.mark.integration


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


def write_scenario(path, steps) -> str:
    """Writes scenario steps (dicts) as JSON lines; returns the path as the emulator takes it."""
    path.write_text("".join(json.dumps(step, ensure_ascii=False) + "\n" for step in steps), encoding="utf-8")
    return str(path)
