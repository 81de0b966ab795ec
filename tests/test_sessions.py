"""Reload-safe session store: tokens, isolation and expiry."""

import time

from core.sessions import SessionStore


def test_tokens_are_random_and_valid():
    tokens = {SessionStore.new_token() for _ in range(200)}
    assert len(tokens) == 200
    assert all(SessionStore.valid_token(t) for t in tokens)
    assert not SessionStore.valid_token("../../etc/passwd")
    assert not SessionStore.valid_token("short")
    assert not SessionStore.valid_token(None)


def test_each_token_sees_only_its_own_value():
    store = SessionStore()
    a, b = store.new_token(), store.new_token()
    store.put(a, "alice's project")
    store.put(b, "bob's project")
    assert store.get(a) == "alice's project" and store.get(b) == "bob's project"
    assert store.get(store.new_token()) is None


def test_idle_entries_expire_and_free_memory():
    store = SessionStore(ttl_seconds=0.2)
    token = store.new_token()
    store.put(token, bytearray(10_000_000))
    assert len(store) == 1
    time.sleep(0.3)
    assert store.get(token) is None and len(store) == 0


def test_access_keeps_an_entry_alive():
    store = SessionStore(ttl_seconds=0.3)
    token = store.new_token()
    store.put(token, 1)
    for _ in range(4):
        time.sleep(0.1)
        assert store.get(token) == 1
