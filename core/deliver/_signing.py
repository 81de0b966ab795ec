"""Only load model files this tabwright wrote: an HMAC over every ``model.joblib``.

joblib (pickle) runs code while loading, so tabwright never loads a model file it cannot
prove it wrote itself. Each workspace keeps a random secret key (``secret.key``, readable by
its owner only); writing a bundle records ``HMAC-SHA256(key, model.joblib)`` in
``model.sig``, and loading checks it before any byte is unpickled. A file from elsewhere is
refused unless the user explicitly says they trust it (``tabwright predict --trust``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

from core.settings import workspace


def _key() -> bytes:
    path = workspace() / "secret.key"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def sign(payload: bytes) -> str:
    """The signature of ``payload`` with this workspace's key (hex)."""
    return hmac.new(_key(), payload, hashlib.sha256).hexdigest()


def verify(payload: bytes, signature: str) -> bool:
    """Whether ``signature`` is this workspace's signature of ``payload``."""
    return hmac.compare_digest(sign(payload), signature.strip())
