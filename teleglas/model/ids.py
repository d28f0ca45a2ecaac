"""Ids derived from content, so every path that can repeat (a redelivery, a second listener, a second beat)
arrives at the same id and the dedupe keyed by it holds."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable


def content_id(parts: Iterable[object]) -> str:
    return hashlib.blake2b("|".join(str(part) for part in parts).encode(), digest_size=16).hexdigest()
