"""`streamlit run app.py` serves the explorer: app.py is an st.App that Streamlit finds (the
running server is tested in tests/test_server.py and tests/test_browser.py)."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_app_py_is_an_st_app_streamlit_run_finds():
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app and found.app_name == "app"
