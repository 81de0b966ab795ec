"""tabwright: the Streamlit entry point. Page config, the optional login gate, navigation."""

import streamlit as st

from pages._ui import PAGES, login_gate

st.set_page_config(page_title="tabwright", page_icon="🧭", layout="wide",
                   initial_sidebar_state="expanded")
if login_gate():
    st.navigation([st.Page(p.path, title=p.title, icon=p.icon, url_path=p.url, default=p.default)
                   for p in PAGES], position="hidden").run()
