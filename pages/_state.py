"""The only module that touches ``st.session_state``.

Each browser session has its own :class:`core.project.Project` and at most one training job.
They are also kept in a process-wide :class:`core.sessions.SessionStore` under a random token
that the app puts in the URL (``?s=…``), so a browser reload or a deep link with that token
brings the work back; idle work expires after a few hours. Nothing here is shared between
users: the token is unguessable, and caches (see ``pages/_ui.py``) are keyed by content.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from core.project import Project
from core.sessions import SessionStore
from core.train import TrainingJob

_PROJECT = "tabwright_project"
_JOB = "tabwright_training_job"
_FLASH = "tabwright_flash"
_TOKEN = "tabwright_token"
TOKEN_PARAM = "s"

STORE = SessionStore()


def _token() -> str:
    """This session's token: from the URL on a reload, else a new one; kept in the URL."""
    token = st.session_state.get(_TOKEN)
    if token is None:
        from_url = st.query_params.get(TOKEN_PARAM)
        if SessionStore.valid_token(from_url) and STORE.get(from_url) is not None:
            token = from_url
            saved = STORE.get(token)
            st.session_state[_PROJECT] = saved["project"]
            st.session_state[_JOB] = saved.get("job")
        else:
            token = STORE.new_token()
            STORE.put(token, {"project": Project(), "job": None})
        st.session_state[_TOKEN] = token
    if st.query_params.get(TOKEN_PARAM) != token:
        st.query_params[TOKEN_PARAM] = token
    return token


def _save() -> None:
    STORE.put(_token(), {"project": st.session_state.get(_PROJECT, Project()),
                         "job": st.session_state.get(_JOB)})


def project() -> Project:
    """This session's project (an empty one on first use)."""
    _token()
    if _PROJECT not in st.session_state:
        st.session_state[_PROJECT] = Project()
    return st.session_state[_PROJECT]


def set_project(value: Project) -> None:
    st.session_state[_PROJECT] = value
    _save()


def job() -> TrainingJob | None:
    _token()
    return st.session_state.get(_JOB)


def set_job(value: TrainingJob | None) -> None:
    st.session_state[_JOB] = value
    _save()


def owner() -> str:
    """A stable id for this user's work (owner of run history entries)."""
    return _token()


def flash(kind: str, text: str) -> None:
    """A message shown once, on the next render (e.g. after a rerun or a page switch)."""
    st.session_state.setdefault(_FLASH, []).append((kind, text))


def take_flashes() -> list[tuple[str, str]]:
    return st.session_state.pop(_FLASH, [])


def widget_value(key: str, default: Any = None) -> Any:
    return st.session_state.get(key, default)


def forget_widget(key: str) -> None:
    st.session_state.pop(key, None)


_UPLOADS = "upload_generation"


def upload_key() -> str:
    """The file uploader's current key: a new one after each read upload (see release_upload)."""
    return f"upload_{st.session_state.get(_UPLOADS, 0)}"


def related_upload_key() -> str:
    """The related-table uploader's key, renewed like :func:`upload_key`."""
    return f"related_upload_{st.session_state.get(_UPLOADS, 0)}"


def release_upload(key: str) -> None:
    """Let go of an uploaded file once it has been read.

    Streamlit keeps an upload's bytes for the whole session (170 MB for a million-row CSV,
    per session), though the loaded table is all the app needs. This drops them from
    Streamlit's upload store and from the widget, and gives the uploader a new key, so it
    shows empty and ready for another file.
    """
    uploaded = st.session_state.pop(key, None)
    file_id = getattr(uploaded, "file_id", None)
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is not None and file_id is not None:
            ctx.uploaded_file_mgr.remove_file(ctx.session_id, file_id)
    except Exception:  # noqa: BLE001 — then Streamlit frees it when the session ends
        pass
    st.session_state[_UPLOADS] = st.session_state.get(_UPLOADS, 0) + 1


_WORKBOOK = "tabwright_workbook"


def keep_workbook(fingerprint: str | None, raw: bytes | None) -> None:
    """Keep the bytes of the workbook the project's table (``fingerprint``) was read from, so
    another of its sheets can be read after the upload is let go; ``None`` lets them go."""
    if raw is None:
        st.session_state.pop(_WORKBOOK, None)
    else:
        st.session_state[_WORKBOOK] = (fingerprint, raw)


def kept_workbook(fingerprint: str) -> bytes | None:
    """The kept workbook's bytes if the table ``fingerprint`` was read from it."""
    kept = st.session_state.get(_WORKBOOK)
    return kept[1] if kept is not None and kept[0] == fingerprint else None


_RELATED = "tabwright_related"


def keep_related(table: Any) -> None:
    """Keep a related table that was read but not joined yet (``None`` lets it go)."""
    if table is None:
        st.session_state.pop(_RELATED, None)
    else:
        st.session_state[_RELATED] = table


def kept_related() -> Any:
    """The related table waiting to be joined, if any."""
    return st.session_state.get(_RELATED)
