"""Work that survives a browser reload, and is freed when nobody comes back.

Streamlit starts a new session on every page load, so a reload would lose the user's project.
The app therefore keeps each project here under a random token (128 bits, from ``secrets``)
that lives in the page's URL: reloading or opening a deep link with the same token brings the
work back; without the token nobody can reach it. Entries idle for longer than ``ttl_seconds``
are dropped, so memory is freed when people leave.
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import Any

DEFAULT_TTL_SECONDS = 4 * 3600


class SessionStore:
    """A thread-safe token → value map with idle expiry.

    Examples
    --------
    >>> store = SessionStore(ttl_seconds=60)
    >>> token = store.new_token()
    >>> store.put(token, {"work": 1})
    >>> store.get(token)
    {'work': 1}
    """

    def __init__(self, *, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self.ttl_seconds = ttl_seconds
        self._items: dict[str, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(16)

    @staticmethod
    def valid_token(token: object) -> bool:
        return isinstance(token, str) and 16 <= len(token) <= 64 and token.replace("-", "").replace("_", "").isalnum()

    def get(self, token: str) -> Any | None:
        self.expire()
        with self._lock:
            item = self._items.get(token)
            if item is None:
                return None
            self._items[token] = (time.monotonic(), item[1])
            return item[1]

    def put(self, token: str, value: Any) -> None:
        with self._lock:
            self._items[token] = (time.monotonic(), value)

    def drop(self, token: str) -> None:
        with self._lock:
            self._items.pop(token, None)

    def expire(self, now: float | None = None) -> int:
        """Forget entries idle for longer than the TTL; returns how many were dropped."""
        now = time.monotonic() if now is None else now
        with self._lock:
            old = [t for t, (seen, _) in self._items.items() if now - seen > self.ttl_seconds]
            for token in old:
                del self._items[token]
            return len(old)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
