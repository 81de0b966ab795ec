"""Two sessions of one server, uploading different files with the same name, each see only
their own data on every page they can open. AppTest sessions share the process, so they share
Streamlit's caches and tabwright's session store: exactly what two users of one server share."""

from __future__ import annotations

from tests.pages.conftest import current, new_app, page_text

SHOP = ("order,region,amount,returned\n" + "".join(
    f"O{i},{'north' if i % 2 else 'south'},{10 + i},{'yes' if i % 5 == 0 else 'no'}\n"
    for i in range(60))).encode()
CLINIC = ("patient,ward,age,readmitted\n" + "".join(
    f"Q{i},{'A7' if i % 3 else 'B9'},{30 + i % 40},{'true' if i % 4 == 0 else 'false'}\n"
    for i in range(45))).encode()


def _session(content: bytes):
    at = new_app()
    at.run()
    at.file_uploader(key="upload_0").upload("data.csv", content, "text/csv")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_same_file_name_different_sessions_see_only_their_own_data():
    shop, clinic = _session(SHOP), _session(CLINIC)
    a, b = current(shop), current(clinic)
    assert a.table.name == b.table.name == "data.csv"
    assert list(a.frame.columns) == ["order", "region", "amount", "returned"] and len(a.frame) == 60
    assert list(b.frame.columns) == ["patient", "ward", "age", "readmitted"] and len(b.frame) == 45
    assert a.table.fingerprint != b.table.fingerprint
    # Every page either session opens shows its own columns and none of the other's.
    for at, mine, theirs in ((shop, "region", "ward"), (clinic, "ward", "region")):
        for page in ("pages/data.py", "pages/explore.py", "pages/prepare.py", "pages/model.py"):
            at.switch_page(page).run()
            assert not at.exception, (page, [e.value for e in at.exception])
            text = " ".join([page_text(at)] + [d.value.to_string() for d in at.dataframe]
                            + [str(s.options) for s in at.selectbox]
                            + [str(m.options) for m in at.multiselect])
            assert mine in text, page
            assert theirs not in text, page
    # The sessions' tokens differ, and a rerun of one does not change the other.
    assert shop.query_params.get("s") != clinic.query_params.get("s")
    shop.run()
    assert current(clinic) is b
