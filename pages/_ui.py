"""Shared page furniture: the page list, the stepper, guards, errors and cached helpers.

Pages call :func:`page_header` first: it draws the stepper in the sidebar, shows one-off
messages, and (through :func:`require`) explains what a stage needs when it is not ready yet,
with a link to the page that provides it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

from core import plotting, settings
from core.errors import TabwrightError
from core.formatting import escape_markdown
from core.project import Project
from pages import _state


@dataclass(frozen=True)
class PageInfo:
    stage: str
    title: str
    icon: str
    path: str
    url: str
    blurb: str


PAGES: tuple[PageInfo, ...] = (
    PageInfo("define", "Define", "🎯", "pages/define.py", "define",
             "The problem, the metric that matters and what result is good enough."),
    PageInfo("data", "Data", "📄", "pages/data.py", "data",
             "Upload a CSV or pick a sample; check how it was read."),
    PageInfo("explore", "Explore", "🔍", "pages/explore.py", "explore",
             "Charts, data-quality findings and whether the features carry signal."),
    PageInfo("prepare", "Prepare", "🧹", "pages/prepare.py", "prepare",
             "Cleaning and encoding per column, with a before/after preview."),
    PageInfo("model", "Model", "🧩", "pages/model.py", "model",
             "Target, task, metric, validation and the models to try."),
    PageInfo("train", "Train", "🏋️", "pages/train.py", "train",
             "Cross-validate the models with live progress and a leaderboard."),
    PageInfo("evaluate", "Evaluate", "📊", "pages/evaluate.py", "evaluate",
             "Held-out test metrics, curves, diagnostics and errors."),
    PageInfo("export", "Export", "📦", "pages/export.py", "export",
             "Download the model, its card, the report and a script to retrain it."),
    PageInfo("use", "Use", "🚀", "pages/use.py", "use",
             "Batch predictions, drift checks and a REST server."),
    PageInfo("monitor", "Monitor", "🩺", "pages/monitor.py", "monitor",
             "How a served model is doing: traffic, drift, outcomes and a verdict."),
    PageInfo("runs", "Runs", "🗂️", "pages/runs.py", "runs",
             "Every training run: compare two, reopen one."),
)
BY_STAGE = {p.stage: p for p in PAGES}


def page_header(stage: str, *, subtitle: str | None = None) -> Project:
    """Draw the stepper and the page title; return this session's project."""
    project = _state.project()
    _stepper(project, stage)
    info = BY_STAGE[stage]
    st.title(f"{info.icon} {info.title}")
    st.caption(subtitle or info.blurb)
    for kind, text in _state.take_flashes():
        getattr(st, kind)(text)
    if project.cleared:
        st.warning(project.cleared, icon="♻️")
    return project


def _stepper(project: Project, current: str) -> None:
    status = project.status()
    with st.sidebar:
        st.markdown("### 🧭 tabwright")
        st.caption("From a raw CSV to a deployable model, one step at a time. "
                   "✓ done · ○ open · 🔒 needs an earlier step")
        for info in PAGES:
            s = status.get(info.stage, {"done": False, "ready": True})
            if info.stage == current:
                mark = "▶"
            elif s["done"]:
                mark = "✓"
            elif s["ready"]:
                mark = "○"
            else:
                mark = "🔒"
            label = f"{mark}  {info.title}"
            # No tooltips here: a tooltip would cover the neighbouring step and swallow clicks.
            st.page_link(info.path, label=label, icon=info.icon, disabled=not s["ready"])
        if project.table is not None:
            st.divider()
            st.caption(f"**Data:** {project.table.name}  \n{project.table.summary()}")
            if project.recipe.target:
                st.caption(f"**Target:** {project.recipe.target} ({project.recipe.task or 'task not set'})")
            if project.result is not None:
                r = project.result
                st.caption(f"**Model:** {r.leaderboard[0]['label']}")


def require(project: Project, stage: str) -> bool:
    """When ``stage`` is not ready, explain what it needs with a link, and return False."""
    s = project.status()[stage]
    if s["ready"]:
        return True
    needed = BY_STAGE[s["needs"]]
    what = {
        "data": "data to work on",
        "model": "a target to predict (or clustering) chosen on the Model page",
        "train": "a trained model",
    }[s["needs"]]
    st.info(f"This step needs {what}. Go to **{needed.title}** first.", icon="🔒")
    st.page_link(needed.path, label=f"Go to {needed.title}", icon=needed.icon)
    return False


def next_step(stage: str, *, label: str | None = None) -> None:
    """A link to the following stage, at the bottom of a page."""
    order = [p.stage for p in PAGES if p.stage != "runs"]
    if stage not in order or order.index(stage) == len(order) - 1:
        return
    following = BY_STAGE[order[order.index(stage) + 1]]
    st.divider()
    st.page_link(following.path, label=label or f"Next: {following.title} →", icon=following.icon)


def run_key(project: Project) -> str:
    """Identifies one training result for caching (its run id, else the result's identity)."""
    r = project.result
    return f"{project.run_id or 'unsaved'}:{r.fingerprint}:{r.seconds:.6f}:{r.final_rows or 0}"


def show_error(exc: TabwrightError) -> None:
    """A TabwrightError as an error box: what is wrong, then what to do.

    Messages quote the user's data (a column name, a value, a file name), so both parts are
    escaped: a name like ``*a*`` or ``$x`` reads as it is and cannot format the box.
    """
    hint = f"\n\n{escape_markdown(exc.hint)}" if exc.hint else ""
    st.error(f"**{escape_markdown(exc.message)}**{hint}", icon="⚠️")


def attempt(fn: Callable[..., Project], *args: Any, success: str | None = None, **kwargs: Any) -> bool:
    """Run a stage function; on success store the new project, on failure keep the old one."""
    try:
        updated = fn(*args, **kwargs)
    except TabwrightError as exc:
        show_error(exc)
        return False
    _state.set_project(updated)
    if success:
        _state.flash("success", success)
    return True


def explain(text: str) -> None:
    """A short teaching note, visually quieter than the content around it."""
    st.caption(f"💡 {text}")


def login_required() -> bool:
    """Whether this server asks people to log in (``TABWRIGHT_REQUIRE_LOGIN=1``)."""
    return settings.require_login()


def login_gate() -> bool:
    """When login is required and nobody is logged in, show a login screen and return False.

    Login uses Streamlit's OpenID Connect support (``st.login``); the provider is configured in
    ``.streamlit/secrets.toml`` (see the README, "Requiring login").
    """
    if not login_required():
        return True
    if st.user.get("is_logged_in", False):
        with st.sidebar:
            st.caption(f"Signed in as {st.user.get('email') or st.user.get('name') or 'you'}")
            st.button("Log out", on_click=st.logout, key="logout")
        return True
    st.title("🧭 tabwright")
    st.info("This tabwright server asks you to log in first: your data and models are only "
            "visible to you.", icon="🔒")
    st.button("Log in", type="primary", on_click=st.login, key="login")
    return False


def chart(fig: Any, *, where: Any = None, **kwargs: Any) -> Any:
    """Show a plotly figure with its user text escaped (:func:`core.plotting.escaped`), in
    ``where`` (a column or container; the page by default). Returns the selection event."""
    return (where or st).plotly_chart(plotting.escaped(fig), **kwargs)
