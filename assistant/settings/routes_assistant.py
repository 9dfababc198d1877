"""Pause, resume and quit the running assistant from the page (the tray's actions, for
desktops whose tray shows no menu). Only present when the page runs inside `hushtype up`."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from assistant.settings import web

router = APIRouter()


def _ctx(request: Request):
    ctx = request.app.state.backend.ctx
    if ctx is None or getattr(ctx, "paused", None) is None:
        raise HTTPException(status_code=409, detail="The assistant is not running: start it with `hushtype up`.")
    return ctx


def _back(form) -> str:
    target = str(form.get("back") or "/history")
    return target if target.startswith("/") and not target.startswith("//") else "/history"


@router.post("/assistant/pause")
async def pause(request: Request):
    form = await request.form()
    _ctx(request).paused.set()
    return web.redirect(_back(form), done="paused")


@router.post("/assistant/resume")
async def resume(request: Request):
    form = await request.form()
    _ctx(request).paused.clear()
    return web.redirect(_back(form), done="resumed")


@router.post("/assistant/quit")
async def quit_assistant(request: Request):
    ctx = _ctx(request)
    ctx.stop.set()
    return web.render(request, "error.html", page="", title="hushtype is stopping",
                      message="The assistant is shutting down; this page closes with it. "
                              "Start it again with `hushtype up`.")
