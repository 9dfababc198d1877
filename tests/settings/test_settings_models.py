"""The Models page in a real browser against a real model server (its own store, so adding and
deleting models never disturbs the shared live server): list, default model, import a GGUF
file, pull with progress from a loopback registry, delete."""

from __future__ import annotations

import sys
import time
import tomllib

import httpx
import pytest
from playwright.sync_api import expect
from settings_helpers import REPO_ROOT, screenshot, submit

from assistant import paths

# The model-management area's loopback OCI registry and tiny-GGUF writer (tests/inference_models).
sys.path.insert(0, str(REPO_ROOT / "tests" / "inference_models"))
from oci_registry import LoopbackRegistry, make_gguf  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.live]


@pytest.fixture
def model_server(server_factory):
    return server_factory()


@pytest.fixture
def registry():
    reg = LoopbackRegistry().start()
    yield reg
    reg.stop()


def tags(server) -> list[str]:
    return sorted(m["name"] for m in httpx.get(server.base_url + "/api/tags", timeout=10).json()["models"])


def follow_job_to_reload(page, timeout=60_000):
    page.wait_for_url("**/models", timeout=timeout, wait_until="load")


def test_models_page_imports_pulls_sets_default_and_deletes(settings_server, page, model_server, registry,
                                                            monkeypatch, tmp_path):
    monkeypatch.setenv("OLLAMA_HOST", model_server.host)
    base = settings_server.base_url
    page.goto(settings_server.url_for("/models"))
    assert "gemma3:270m" in page.locator("table.models").inner_text()
    assert page.locator("tr[data-model='gemma3:270m'] .tag.default").count() == 1

    # import a GGUF file by path
    gguf = make_gguf(tmp_path / "Tiny-Import.gguf", name="Tiny Import", payload_bytes=1 << 20, seed=7)
    page.fill("#import-path", "relative/path.gguf")
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-form .form-error")).to_contain_text("full path")
    page.fill("#import-path", str(gguf))
    page.fill("#import-name", "tiny-import")
    with page.expect_navigation(url=f"{base}/models", timeout=60_000):
        page.click("#import-form button[type=submit]")
    assert "tiny-import:latest" in tags(model_server)
    assert page.locator("tr[data-model='tiny-import:latest']").count() == 1
    # the same name again is refused with a clear message
    page.fill("#import-path", str(gguf))
    page.fill("#import-name", "tiny-import")
    page.click("#import-form button[type=submit]")
    expect(page.locator("#import-form .form-error")).to_contain_text("already exists")

    # pull by name with progress (a throttled loopback registry, so progress is visible)
    registry.add_model("library/tiny", "latest", make_gguf(tmp_path / "pulled.gguf", payload_bytes=3 << 20,
                                                           seed=8).read_bytes())
    registry.bytes_per_second = 2 << 20
    page.fill("#pull-name", f"{registry.host}/library/tiny:latest")
    page.check("#pull-form input[name=insecure]")
    page.click("#pull-form button[type=submit]")
    bar = page.locator("#jobs .job progress").last
    seen = set()
    deadline = time.monotonic() + 60
    while "/models" not in seen and time.monotonic() < deadline:
        try:
            value = float(bar.get_attribute("value", timeout=1000) or 0)
        except Exception:  # the page reloads when the pull is done
            break
        if 0 < value < 100:
            seen.add("partial")
        page.wait_for_timeout(100)
    assert "partial" in seen, "no intermediate progress was shown"
    page.wait_for_selector(f"tr[data-model='{registry.host}/library/tiny:latest']", timeout=60_000)
    assert f"{registry.host}/library/tiny:latest" in tags(model_server)
    screenshot(page, "models")

    # a failing pull shows the server's message
    page.fill("#pull-name", f"{registry.host}/library/missing:latest")
    page.click("#pull-form button[type=submit]")
    page.wait_for_selector("#jobs .job-error:not([hidden])", timeout=60_000)
    assert page.locator("#jobs .job-error").last.inner_text().strip()

    # default model
    page.goto(base + "/models")
    submit(page, "tr[data-model='tiny-import:latest'] button:has-text('Make default')")
    assert page.locator(".notice").inner_text() == "Default model changed."
    assert page.locator("tr[data-model='tiny-import:latest'] .tag.default").count() == 1
    assert tomllib.loads(paths.config_file().read_text())["server"]["model"] == "tiny-import:latest"
    page.select_option("#default-model", "gemma3:270m")
    submit(page, "section[aria-labelledby=default-h] button[type=submit]")
    assert tomllib.loads(paths.config_file().read_text())["server"]["model"] == "gemma3:270m"

    # delete (after a confirmation dialog)
    for name in ("tiny-import:latest", f"{registry.host}/library/tiny:latest"):
        page.once("dialog", lambda dialog: dialog.accept())
        submit(page, f"tr[data-model='{name}'] button:has-text('Delete')")
        assert page.locator(".notice").inner_text() == "Model deleted."
    assert tags(model_server) == ["gemma3:270m"]
    # dismissing the dialog keeps the model
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.click("tr[data-model='gemma3:270m'] button:has-text('Delete')")
    assert tags(model_server) == ["gemma3:270m"]
    assert not page.js_errors


def test_models_page_says_how_to_start_a_missing_server(settings_server, page, monkeypatch):
    from settings_helpers import free_port

    monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{free_port()}")
    page.goto(settings_server.url_for("/models"))
    assert "hushtype serve" in page.locator(".alert").first.inner_text()
