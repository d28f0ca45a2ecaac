"""Scenario files for the CoinGlass emulator: one JSON object per line.

    {"frame": {"channel": "liquidationOrders", "data": [...]}}   a data frame, to clients subscribed to its channel
    {"raw": "any text"}                                         sent as-is to every subscribed client
    {"pause": 0.5}                                              seconds before the next step
    {"drop": true}                                              close every client connection abruptly

Blank lines and lines starting with # are ignored. A bad line is an error naming its line number.
With `--live-times` the emulator gives every event the time its frame is sent (duplicates stay duplicates), for
views that look at "the last 5 minutes" and latencies measured from the event.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUNDLED = Path(__file__).resolve().parent / "scenarios"


@dataclass(frozen=True)
class Step:
    action: str  # frame | raw | pause | drop
    text: str = ""  # the exact text to send for frame/raw
    channel: str | None = None  # for frame: who receives it
    seconds: float = 0.0  # for pause


class ScenarioError(ValueError):
    pass


def parse_step(line: str, number: int) -> Step | None:
    line = line.strip()
    if not line or line.startswith("#"):
        return None
    try:
        spec: Any = json.loads(line)
    except ValueError as exc:
        raise ScenarioError(f"line {number}: not JSON ({exc})") from None
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ScenarioError(f"line {number}: expected one of frame/raw/pause/drop")
    ((action, value),) = spec.items()
    if action == "frame":
        if not isinstance(value, dict):
            raise ScenarioError(f"line {number}: frame must be an object")
        channel = value.get("channel")
        return Step("frame", json.dumps(value, ensure_ascii=False), channel if isinstance(channel, str) else None)
    if action == "raw" and isinstance(value, str):
        return Step("raw", value)
    if action == "pause" and isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value <= 3600:
        return Step("pause", seconds=float(value))
    if action == "drop" and value is True:
        return Step("drop")
    raise ScenarioError(f"line {number}: bad {action!r} step")


def load_scenario(path: Path | str) -> list[Step]:
    path = Path(path)
    if not path.is_absolute() and not path.exists():
        path = BUNDLED / path
    steps = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            step = parse_step(line, number)
            if step is not None:
                steps.append(step)
    return steps


def steps_from_frames(items: list[dict[str, Any] | str], pause_s: float = 0.0) -> list[Step]:
    """Builds a scenario in code (tests): dicts become frames, strings raw text, optional pause between."""
    steps: list[Step] = []
    for item in items:
        spec = {"frame": item} if isinstance(item, dict) else {"raw": item}
        steps.append(parse_step(json.dumps(spec), 0))  # type: ignore[arg-type]
        if pause_s:
            steps.append(Step("pause", seconds=pause_s))
    return steps


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def live_frame(step: Step, assigned: dict[int, int], now_ms: int) -> Step:
    """The frame with its events happening now: each original `time` becomes the moment it is first sent
    (spacing inside the frame kept), and a time seen before keeps its earlier value, so a duplicate frame stays a
    duplicate. Times that are not numbers are left for the parser to refuse."""
    try:
        frame = json.loads(step.text)
        data = frame.get("data")
    except (ValueError, AttributeError):
        return step
    items = (
        [item for item in data if isinstance(item, dict) and _is_time(item.get("time"))]
        if isinstance(data, list)
        else []
    )
    if not items:
        return step
    first = min(int(item["time"]) for item in items)
    for item in items:
        original = int(item["time"])
        item["time"] = assigned.setdefault(original, now_ms + original - first)
    return Step("frame", json.dumps(frame, ensure_ascii=False), step.channel)
