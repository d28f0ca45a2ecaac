"""Field validators shared by every CoinGlass parser (WebSocket frames and REST records), so both meet the
same hostile-input rules: strings of bounded length without control characters, finite numbers within
range (unsigned unless the field carries a sign), millisecond times between 2000 and 2100."""
from __future__ import annotations

import math
import re
from typing import Any

MAX_TEXT_FIELD = 64
MAX_ABS_NUMBER = 1e15
MIN_TIME_MS = 946_684_800_000
MAX_TIME_MS = 4_102_444_800_000


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class FieldError(ValueError):
    """One field that cannot be used; the message names the field, never echoes a long value."""


def first(item: dict[str, Any], *names: str, required: bool = True) -> Any:
    """The first of `names` present and not null (the same value is spelled differently in places)."""
    for name in names:
        if name in item and item[name] is not None:
            return item[name]
    if required:
        raise FieldError(f"missing field {names[0]!r}")
    return None


def text(value: Any, name: str, max_length: int = MAX_TEXT_FIELD) -> str:
    if not isinstance(value, str):
        raise FieldError(f"{name} is {type(value).__name__}, not a string")
    value = value.strip()
    if not value or len(value) > max_length:
        raise FieldError(f"{name} length {len(value)} outside 1..{max_length}")
    if _CONTROL.search(value):
        raise FieldError(f"{name} contains control characters")
    return value


def number(value: Any, name: str, *, allow_zero: bool = True, signed: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldError(f"{name} is {type(value).__name__}, not a number")
    try:
        result = float(value)
    except (ValueError, OverflowError):
        raise FieldError(f"{name} is not a finite number") from None
    if not math.isfinite(result) or abs(result) >= MAX_ABS_NUMBER or (result < 0 and not signed) or (result == 0 and not allow_zero):
        raise FieldError(f"{name} out of range")
    return result


def optional_number(item: dict[str, Any], name: str, *, signed: bool = False) -> float | None:
    """None when the field is absent or empty; a present but unusable value is still an error."""
    value = item.get(name)
    if value is None or value == "":
        return None
    return number(value, name, signed=signed)


def time_ms(value: Any, name: str = "time") -> int:
    result = number(value, name, allow_zero=False)
    if result != int(result) or not MIN_TIME_MS <= result <= MAX_TIME_MS:
        raise FieldError(f"{name} is not a millisecond timestamp")
    return int(result)
