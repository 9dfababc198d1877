"""Privacy page: what is stored where, retention in force, and how to check nothing leaves."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from assistant.settings import autostart, runtime_file, web

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


@router.get("/privacy")
async def privacy_page(request: Request):
    backend = request.app.state.backend
    report = await run_in_threadpool(_report)
    entry = autostart.entry_path()
    return web.render(request, "privacy.html", page="privacy", report=report,
                      autostart_path=str(entry), autostart_on=entry.exists(),
                      page_port=request.app.state.port, server_url=backend.server_url(),
                      problem=backend.settings_problem())
