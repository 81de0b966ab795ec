"""Tests for core.deliver._signing: the workspace key and the HMAC over model files."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pytest

from core.deliver._signing import sign, verify


@pytest.fixture
def workspace(monkeypatch, tmp_path):
    folder = tmp_path / "workspace"
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(folder))
    return folder


def test_sign_and_verify_round_trip(workspace):
    payload = b"model bytes \x00\x01"
    signature = sign(payload)
    assert len(signature) == 64 and int(signature, 16) >= 0  # SHA-256 in hex
    assert verify(payload, signature)
    assert verify(payload, signature + "\n")  # as read back from model.sig with a newline
    assert sign(payload) == signature  # the key is kept, so signatures are stable


def test_the_signature_is_an_hmac_with_the_workspace_key(workspace):
    payload = b"abc"
    signature = sign(payload)
    key = (workspace / "secret.key").read_bytes()
    assert len(key) == 32
    assert signature == hmac.new(key, payload, hashlib.sha256).hexdigest()
    assert signature != hashlib.sha256(payload).hexdigest()


def test_a_changed_payload_or_signature_fails(workspace):
    signature = sign(b"the model")
    assert not verify(b"the model!", signature)
    assert not verify(b"", signature)
    flipped = ("0" if signature[0] != "0" else "1") + signature[1:]
    assert not verify(b"the model", flipped)
    assert not verify(b"the model", "")
    assert not verify(b"the model", signature[:-1])


def test_the_key_file_is_created_readable_by_its_owner_only(workspace):
    assert not (workspace / "secret.key").exists()
    sign(b"x")
    key_file = workspace / "secret.key"
    assert key_file.is_file()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    before = key_file.read_bytes()
    sign(b"y")
    assert key_file.read_bytes() == before  # never rewritten


def test_another_workspace_has_another_key(monkeypatch, tmp_path):
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path / "one"))
    signature = sign(b"model")
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path / "two"))
    assert not verify(b"model", signature)
    assert sign(b"model") != signature
    monkeypatch.setenv("TABWRIGHT_WORKSPACE", str(tmp_path / "one"))
    assert verify(b"model", signature)
