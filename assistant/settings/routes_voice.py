"""Voice page: push-to-talk keys, microphone, Whisper model, and a test recording."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from assistant.config import ConfigError
from assistant.settings import forms, voice_ops, web
from assistant.settings.forms import FormError

router = APIRouter()


async def _page(request: Request, *, status_code=200, error=None, form=None):
    backend = request.app.state.backend
    devices, devices_error = await run_in_threadpool(voice_ops.list_input_devices)
    voice = dict(backend.settings().get("voice", {}))
    if form:
        voice.update({k: v for k, v in form.items() if k in voice})
    return web.render(request, "voice.html", page="voice", status_code=status_code, voice=voice,
                      devices=devices, devices_error=devices_error, error=error,
                      max_seconds=voice_ops.MAX_TEST_SECONDS, problem=backend.settings_problem())


@router.get("/voice")
async def voice_page(request: Request):
    return await _page(request)


@router.post("/voice")
async def save_voice(request: Request):
    form = await request.form()
    try:
        patch = forms.parse_voice(form)
        await run_in_threadpool(request.app.state.backend.save, patch)
    except (FormError, ConfigError) as exc:
        return await _page(request, status_code=400, error=str(exc), form=dict(form))
    return web.redirect("/voice", done="saved")


@router.post("/voice/test")
async def start_test(request: Request):
    """Start a microphone test; the page polls /jobs/<id> for the level and the transcript."""
    backend = request.app.state.backend
    form = await request.form()
    try:
        seconds = float(form.get("seconds") or 4)
    except ValueError:
        return JSONResponse({"error": "seconds must be a number"}, status_code=400)
    if not 0.5 <= seconds <= voice_ops.MAX_TEST_SECONDS:
        return JSONResponse({"error": f"record between 0.5 and {voice_ops.MAX_TEST_SECONDS:g} seconds"},
                            status_code=400)
    jobs = request.app.state.jobs
    if jobs.running("voice-test"):
        return JSONResponse({"error": "a test recording is already running"}, status_code=409)
    settings = backend.settings()
    device = str(form.get("device") if form.get("device") is not None else settings.get("voice", {}).get("device", ""))
    job = jobs.start("voice-test", "Microphone test",
                     lambda job: voice_ops.run_test(job, settings, device, seconds))
    return JSONResponse(job.snapshot(), status_code=202)
