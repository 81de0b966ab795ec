"""tabwright: the Streamlit entry point. Page config, the optional login gate, navigation."""

import streamlit as st

from pages._ui import PAGES, login_gate

st.set_page_config(page_title="tabwright", page_icon="🧭", layout="wide",
                   initial_sidebar_state="expanded")


def _start() -> None:
    """The root URL opens the Data page, so every stage (Data included) has its own deep link."""
    st.switch_page("pages/data.py")


if login_gate():
    st.navigation([st.Page(_start, title="tabwright", url_path="start", default=True)]
                  + [st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url) for p in PAGES],
                  position="hidden").run()
