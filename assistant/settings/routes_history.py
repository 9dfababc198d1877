"""History and Retention pages: search, view, delete one, wipe all, export, retention days."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from assistant.config import ConfigError
from assistant.settings import forms, web
from assistant.settings.forms import FormError

router = APIRouter()

LIST_LIMIT = 500
RETENTION_PRESETS = [(0, "Keep nothing"), (1, "1 day"), (7, "1 week"), (30, "30 days"), (90, "3 months"), (365, "1 year")]
ENTRY_FIELDS = ("id", "created_at", "prefix", "command", "source", "input", "output", "status", "model", "error",
                "duration_ms")


def entry_view(entry) -> dict:
    """A history entry (ORM object, dataclass or dict) as the plain dict the templates use."""
    if isinstance(entry, dict):
        data = dict(entry)
    elif hasattr(entry, "to_dict"):
        data = entry.to_dict()
    else:
        data = {name: getattr(entry, name) for name in ENTRY_FIELDS if hasattr(entry, name)}
    data.setdefault("prefix", data.get("command", ""))
    duration = data.get("duration_ms") or (data.get("timings") or {}).get("total_ms")
    if duration:
        data["duration"] = f"{float(duration) / 1000:.1f} s"
    return data


def _back_target(value: str | None) -> str:
    """Only ever go back to a history listing on this site."""
    if value and value.startswith("/history") and not value.startswith("//"):
        return value
    return "/history"


def _retention(backend) -> int:
    return int(backend.settings().get("history", {}).get("retention_days", 30))


@router.get("/history")
async def history_page(request: Request, q: str = "", command: str = ""):
    backend = request.app.state.backend
    q, command = q.strip()[:500], command.strip()[:100]
    entries = await run_in_threadpool(
        backend.history().list, search=q or None, prefix=command or None, limit=LIST_LIMIT)
    specs = backend.command_specs()
    choices = sorted({(s.prefix, f"{s.prefix} ({name})") for name, s in specs.items()})
    views = [entry_view(e) for e in entries]
    known = {value for value, _ in choices}
    for v in views:  # entries of commands removed since still get a filter choice
        if v.get("prefix") and v["prefix"] not in known:
            known.add(v["prefix"])
            choices.append((v["prefix"], v["prefix"]))
    back = str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
    return web.render(request, "history.html", page="history", entries=views, q=q, command=command,
                      command_choices=choices, retention_days=_retention(backend),
                      limited=len(views) >= LIST_LIMIT, back=back, problem=backend.settings_problem())


@router.get("/history/export.json")
async def export_history(request: Request):
    backend = request.app.state.backend
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".json", dir=backend.data_dir)
    os.close(fd)
    os.chmod(tmp, 0o600)
    try:
        await run_in_threadpool(backend.history().export, Path(tmp))
    except Exception:
        os.unlink(tmp)
        raise
    # The file is opened and unlinked before the answer starts: the copy of the history on disk is
    # gone by the time the browser has it, and nothing is left behind if the download is cut off.
    handle = open(tmp, "rb")
    os.unlink(tmp)
    size = os.fstat(handle.fileno()).st_size
    stamp = datetime.now().strftime("%Y%m%d-%H%M")

    def chunks():
        with handle:
            while block := handle.read(64 * 1024):
                yield block

    return StreamingResponse(chunks(), media_type="application/json",
                             headers={"Content-Disposition": f'attachment; filename="hushtype-history-{stamp}.json"',
                                      "Content-Length": str(size)})


@router.get("/history/wipe")
async def wipe_confirm(request: Request):
    backend = request.app.state.backend
    stats = await run_in_threadpool(backend.history().stats)
    return web.render(request, "history_wipe.html", page="history", count=stats.get("count", 0))


@router.post("/history/wipe")
async def wipe(request: Request):
    backend = request.app.state.backend
    form = await request.form()
    if form.get("confirm") != "yes":
        stats = await run_in_threadpool(backend.history().stats)
        return web.render(request, "history_wipe.html", page="history", status_code=400,
                          count=stats.get("count", 0), error="Tick the box to confirm: nothing was deleted.")
    await run_in_threadpool(backend.history().wipe)
    return web.redirect("/history", done="wiped")


@router.get("/history/{entry_id}")
async def entry_page(request: Request, entry_id: int):
    entry = await run_in_threadpool(request.app.state.backend.history().get, entry_id)
    if entry is None:
        raise HTTPException(status_code=404, detail=f"There is no history entry {entry_id} (it may have been deleted).")
    return web.render(request, "history_entry.html", page="history", e=entry_view(entry))


@router.post("/history/{entry_id}/delete")
async def delete_entry(request: Request, entry_id: int):
    form = await request.form()
    deleted = await run_in_threadpool(request.app.state.backend.history().delete, entry_id)
    if not deleted:
        raise HTTPException(status_code=404, detail=f"There is no history entry {entry_id} (it may have been deleted already).")
    return web.redirect(_back_target(form.get("back")), done="deleted")


# ---------------------------------------------------------------------------- retention
async def _retention_page(request: Request, *, status_code=200, error=None, form_value=None, swept=None):
    backend = request.app.state.backend
    stats = await run_in_threadpool(backend.history().stats)
    return web.render(request, "retention.html", page="retention", status_code=status_code, error=error,
                      form_value=form_value, swept=swept, stats=stats, retention_days=_retention(backend),
                      presets=RETENTION_PRESETS, problem=backend.settings_problem())


@router.get("/retention")
async def retention_page(request: Request):
    swept = request.query_params.get("swept")
    return await _retention_page(request, swept=int(swept) if swept and swept.isdigit() else None)


@router.post("/retention")
async def save_retention(request: Request):
    backend = request.app.state.backend
    form = await request.form()
    raw = form.get("preset") if form.get("preset") not in (None, "") else form.get("retention_days")
    try:
        days = forms.parse_retention_days(raw)
        await run_in_threadpool(backend.save, {"history": {"retention_days": days}})
    except (FormError, ConfigError) as exc:
        return await _retention_page(request, status_code=400, error=str(exc), form_value=raw)
    history = backend.history()
    swept = await run_in_threadpool(_sweep_with, history, days)
    return web.redirect("/retention", done="retention", swept=str(swept))


def _sweep_with(history, days: int) -> int:
    """Apply ``days`` to the store and delete what it no longer allows, now."""
    if hasattr(history, "retention_days"):
        history.retention_days = days
    return int(history.sweep() or 0)

