"""Identifiers: sortable by creation time, so cursors can page by id alone."""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


_last_ms = 0
_last_rand = 0
# new_id runs on database threads too (a retry's new run): the read-modify-write
# of the two globals must not interleave, or ids repeat and stop being monotonic.
_lock = threading.Lock()


def new_id(prefix: str) -> str:
    """A ULID-style id: 48-bit milliseconds then 80 random bits, monotonic within a process."""
    global _last_ms, _last_rand
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            ms = _last_ms
            _last_rand += 1
        else:
            _last_rand = int.from_bytes(os.urandom(10), "big") >> 1
        _last_ms = ms
        rand = _last_rand
    return f"{prefix}_{_base32(ms, 10)}{_base32(rand, 16)}"
