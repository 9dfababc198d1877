"""Privacy page: what is stored where, retention in force, and how to check nothing leaves."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool


from assistant.config import ConfigError
from assistant.platform.visibility import backend_rows
from assistant.settings import autostart, forms, runtime_file, web
from assistant.settings.forms import FormError

router = APIRouter()

EXTRA_PURPOSES = {
    runtime_file.FILE_NAME: "the settings page's private link (with this run's secret); removed when it stops",
    "server.log": "the bundled model server's log (requests and timings, never prompts or answers)",
}


def _report() -> dict:
    from assistant.history.privacy import privacy_report

    report = privacy_report()
    for entry in report["files"]:
        name = entry["path"].rstrip("/").rsplit("/", 1)[-1]
        if name in EXTRA_PURPOSES and "not written by" in entry["purpose"]:
            entry["purpose"] = EXTRA_PURPOSES[name]
    return report


async def _page(request: Request, *, status_code=200, error=None, deny_text=None):
    backend = request.app.state.backend
    report = await run_in_threadpool(_report)
    entry = autostart.entry_path()
    deny = backend.settings().get("privacy", {}).get("deny_apps", [])
    platform = backend.platform()
    return web.render(request, "privacy.html", page="privacy", status_code=status_code, report=report,
                      platform=platform, backends=backend_rows(getattr(platform, "name", None)),
                      autostart_path=str(entry), autostart_on=entry.exists(),
                      page_port=request.app.state.port, server_url=backend.server_url(),
                      deny_text=deny_text if deny_text is not None else "\n".join(deny), error=error,
                      problem=backend.settings_problem())


@router.get("/privacy")
async def privacy_page(request: Request):
    return await _page(request)


@router.post("/privacy/deny-apps")
async def save_deny_apps(request: Request):
    """Apps (X11 WM_CLASS) where hushtype never reads keys, e.g. password managers."""
    form = await request.form()
    try:
        apps = forms.parse_lines(form.get("deny_apps"), "Apps", limit=200, item_chars=100, lower=True)
        await run_in_threadpool(request.app.state.backend.save, {"privacy": {"deny_apps": apps}})
    except (FormError, ConfigError) as exc:
        return await _page(request, status_code=400, error=str(exc), deny_text=str(form.get("deny_apps") or ""))
    return web.redirect("/privacy", done="saved")
