"""Commands page: prefixes, prompts, model and options per command, terminator, custom
commands, and a "try it" box that runs a command through the real pipeline."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from assistant import config
from assistant.config import ConfigError
from assistant.settings import forms, web
from assistant.settings.forms import FormError

log = logging.getLogger(__name__)
router = APIRouter()

TRY_MAX_CHARS = 8000


def _command_rows(settings: dict, defaults: dict) -> list[dict]:
    rows = []
    builtin = defaults.get("commands", {})
    for name, table in settings.get("commands", {}).items():
        if not isinstance(table, dict):
            continue
        options = table.get("options") or {}
        rows.append({
            "name": name,
            "prefix": table.get("prefix", ""),
            "style": table.get("style", "custom"),
            "instruction": table.get("instruction", ""),
            "description": table.get("description", ""),
            "model": table.get("model") or "",
            "stream": bool(table.get("stream", table.get("style") == "gen")),
            "enabled": table.get("enabled", True) is not False,
            "builtin": name in builtin,
            "options": {key: _option_text(options.get(key)) for key in forms.COMMAND_OPTIONS},
            "default_options": {key: _option_text((builtin.get(name, {}).get("options") or {}).get(key))
                                for key in forms.COMMAND_OPTIONS},
        })
    return rows


def _option_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def _model_names(backend) -> tuple[list[str], str | None]:
    try:
        with backend.client() as client:
            return sorted(m.get("name") or m.get("model") for m in client.tags()), None
    except Exception as exc:  # the page still works; the model field becomes free text
        return [], str(exc)


async def _page(request: Request, *, status_code=200, error=None, error_for=None, form=None, tried=None):
    backend = request.app.state.backend
    settings = backend.settings()
    models, models_error = await run_in_threadpool(_model_names, backend)
    typing = settings.get("typing", {})
    return web.render(
        request, "commands.html", page="commands", status_code=status_code,
        commands=_command_rows(settings, config.load_defaults()), models=models, models_error=models_error,
        default_model=settings.get("server", {}).get("model", ""), styles=config.STYLES,
        option_fields=forms.COMMAND_OPTIONS, terminator=typing.get("terminator", ""),
        terminator_chord=typing.get("terminator_chord", ""), pause_hotkey=typing.get("pause_hotkey", ""),
        undo_hotkey=typing.get("undo_hotkey", ""), error=error, error_for=error_for,
        form=form or {}, tried=tried, problem=backend.settings_problem(),
    )


@router.get("/commands")
async def commands_page(request: Request):
    return await _page(request)


@router.post("/commands/terminator")
async def save_terminator(request: Request):
    form = await request.form()
    try:
        patch = forms.parse_typing(form)
        await run_in_threadpool(request.app.state.backend.save, patch)
    except (FormError, ConfigError) as exc:
        return await _page(request, status_code=400, error=str(exc), error_for="terminator")
    return web.redirect("/commands", done="saved")


@router.post("/commands/add")
async def add_command(request: Request):
    backend = request.app.state.backend
    form = await request.form()
    name = str(form.get("name") or "").strip().lower()
    try:
        table = forms.parse_command(form, name=name, is_new=True,
                                    existing=set(backend.settings().get("commands", {})))
        await run_in_threadpool(backend.save, {"commands": {name: table}})
    except (FormError, ConfigError) as exc:
        return await _page(request, status_code=400, error=str(exc), error_for="add", form=dict(form))
    return web.redirect("/commands", done="added")


@router.post("/commands/{name}")
async def save_command(request: Request, name: str):
    backend = request.app.state.backend
    settings = backend.settings()
    if name not in settings.get("commands", {}):
        raise HTTPException(status_code=404, detail=f"There is no command called “{name}”.")
    form = await request.form()
    try:
        table = forms.parse_command(form, name=name, is_new=False, existing=set(settings.get("commands", {})))
        await run_in_threadpool(backend.save, {"commands": {name: table}})
    except (FormError, ConfigError) as exc:
        return await _page(request, status_code=400, error=str(exc), error_for=name)
    return web.redirect("/commands", done="saved")


@router.post("/commands/{name}/remove")
async def remove_command(request: Request, name: str):
    backend = request.app.state.backend
    if name in config.load_defaults().get("commands", {}):
        raise HTTPException(status_code=400, detail=f"“{name}” is built in: it can be turned off, not removed.")
    if name not in backend.settings().get("commands", {}):
        raise HTTPException(status_code=404, detail=f"There is no command called “{name}”.")
    try:
        await run_in_threadpool(backend.save, {"commands": {name: None}})
    except ConfigError as exc:
        return await _page(request, status_code=400, error=str(exc), error_for=name)
    return web.redirect("/commands", done="removed")


@router.post("/try")
async def try_command(request: Request):
    """Run ``text`` through the pipeline as the chosen command. Not stored in history."""
    backend = request.app.state.backend
    wants_json = "application/json" in request.headers.get("accept", "")
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = await request.json()
        except ValueError:
            raise HTTPException(status_code=400, detail="the request body is not JSON")
        if not isinstance(data, dict):
            raise HTTPException(status_code=400, detail="expected a JSON object")
    else:
        data = dict(await request.form())
    name, text = str(data.get("command") or ""), str(data.get("text") or "")
    try:
        specs = backend.command_specs()
    except ConfigError as exc:
        raise HTTPException(status_code=400, detail=str(exc))
    tried = {"command": name, "text": text}
    if name not in specs:
        tried["error"] = f"There is no enabled command called “{name}”."
    elif not text.strip():
        tried["error"] = "Type some text to run the command on."
    elif len(text) > TRY_MAX_CHARS:
        tried["error"] = f"At most {TRY_MAX_CHARS} characters."
    else:
        result = await run_in_threadpool(_run, backend, specs[name], text)
        tried.update(result)
    status = 400 if "error" in tried and "status" not in tried else 200
    if wants_json:
        return JSONResponse(tried, status_code=status)
    return await _page(request, status_code=status, tried=tried)


def _run(backend, spec, text: str) -> dict:
    pipeline = backend.try_pipeline()
    try:
        result = pipeline.run_spec(spec, text, source="settings")
    finally:
        pipeline.client.close()
    total_ms = (result.timings or {}).get("total_ms") or 0
    out = {"status": result.status, "output": result.output, "model": result.model,
           "seconds": round(float(total_ms) / 1000, 2)}
    if result.status != "ok":
        out["error"] = result.error or result.note or result.status
    return out
