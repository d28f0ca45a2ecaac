"""Field validators shared by every CoinGlass parser (WebSocket frames and REST records), so both meet the
same hostile-input rules: strings of bounded length without control, format (bidi, zero-width) or surrogate
characters, finite numbers within range (unsigned unless the field carries a sign) written with ASCII digits,
millisecond times between 2000 and 2100. Every refusal is a FieldError; no other exception leaves here.

The same rules are also said to msgspec (Name, PositiveNumber, TimeMs), for the venues' fast paths: a frame of the
usual shape is decoded and checked in one step, and whatever those refuse goes through the validators here."""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from typing import Annotated, Any

import msgspec

MAX_TEXT_FIELD = 64
MAX_ABS_NUMBER = 1e15
MIN_TIME_MS = 946_684_800_000
MAX_TIME_MS = 4_102_444_800_000


_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Control (C0, C1), format (bidi overrides and isolates, zero-width, BOM), line/paragraph separators: they can
# make a hostile name display as another one. Lone surrogates (Cs, from JSON "\ud800") cannot be encoded.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# A number sent as a string: plain decimal notation in ASCII. float() alone would also take '١٢', '１２',
# '1_000', ' 5 ', 'nan' and 'inf'.
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


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
    if _has_refused_characters(value):
        raise FieldError(f"{name} contains control characters")
    return value


def _has_refused_characters(value: str) -> bool:
    """ASCII (nearly every name) takes one regex search; anything else is checked character by character."""
    if value.isascii():
        return _ASCII_CONTROL.search(value) is not None
    return any(unicodedata.category(c) in _REFUSED_CATEGORIES for c in value)


def number(value: Any, name: str, *, allow_zero: bool = True, signed: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise FieldError(f"{name} is {type(value).__name__}, not a number")
    if isinstance(value, str) and not _DECIMAL.fullmatch(value):
        raise FieldError(f"{name} is not a finite number")
    try:
        result = float(value)
    except OverflowError:  # an int beyond the float range; a string that passed _DECIMAL gives inf instead
        raise FieldError(f"{name} is not a finite number") from None
    if (
        not math.isfinite(result)
        or abs(result) >= MAX_ABS_NUMBER
        or (result < 0 and not signed)
        or (result == 0 and not allow_zero)
    ):
        raise FieldError(f"{name} out of range")
    return result + 0.0  # -0.0 (from -0 or "-0") becomes 0.0: one value, one fingerprint


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


def time_s_or_ms(value: Any, name: str = "time") -> int:
    """Milliseconds from a time in seconds or in milliseconds: the two ranges (2000 to 2100) do not overlap.
    For the one list whose doc example prints seconds (fear & greed's `time_list`)."""
    result = number(value, name, allow_zero=False)
    if result == int(result) and MIN_TIME_MS // 1000 <= result <= MAX_TIME_MS // 1000:
        result *= 1000
    return time_ms(result, name)


# For msgspec. A name's padding and characters are left to plain_json and unpadded: msgspec cannot strip.
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT_FIELD)]
# Zero is left to the validators: they turn -0.0 into 0.0, which a fingerprint tells apart.
PositiveNumber = Annotated[float, msgspec.Meta(gt=0, lt=MAX_ABS_NUMBER)]
TimeMs = Annotated[int, msgspec.Meta(ge=MIN_TIME_MS, le=MAX_TIME_MS)]


def plain_json(frame: str) -> bool:
    """ASCII without escapes or DEL: every string msgspec decodes from such a frame is printable ASCII (JSON has
    no raw control characters), so text() would only strip its spaces. Constant time for ASCII, then two scans."""
    return frame.isascii() and "\\" not in frame and "\x7f" not in frame


def unpadded(names: Iterable[str]) -> bool:
    """No name starts or ends with a space, so text() keeps each as it is. For names from a plain_json frame, which
    hold no NUL: joined on NUL, a padded name shows as a space beside one (one C scan, not a Python call a name)."""
    joined = "\x00" + "\x00".join(names) + "\x00"
    return " \x00" not in joined and "\x00 " not in joined
