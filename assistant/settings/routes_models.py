"""Models page: the server's models, the default model, import a GGUF file, pull, delete."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from assistant.config import ConfigError
from assistant.settings import model_ops, web
from assistant.settings.model_ops import ModelOpError

router = APIRouter()


def _list_models(backend) -> tuple[list[dict], str | None]:
    try:
        with backend.client() as client:
            return client.tags(), None
    except Exception as exc:  # shown on the page with how to start the server
        return [], str(exc)


async def _page(request: Request, *, status_code=200, error=None, error_for=None, form=None):
    backend = request.app.state.backend
    models, list_error = await run_in_threadpool(_list_models, backend)
    settings = backend.settings()
    jobs = request.app.state.jobs
    active = {j.id: j.snapshot() for kind in ("pull", "import") for j in jobs.running(kind)}
    asked = jobs.get(request.query_params.get("job", ""))
    if asked is not None:
        active[asked.id] = asked.snapshot()
    return web.render(request, "models.html", page="models", status_code=status_code, models=models,
                      list_error=list_error, default_model=settings.get("server", {}).get("model", ""),
                      server_url=backend.server_url(), error=error, error_for=error_for, form=form or {},
                      active_jobs=list(active.values()), problem=backend.settings_problem())


@router.get("/models")
async def models_page(request: Request):
    return await _page(request)


@router.post("/models/default")
async def set_default(request: Request):
    form = await request.form()
    name = str(form.get("model") or "").strip()
    try:
        name = model_ops.validate_model_name(name)
        await run_in_threadpool(request.app.state.backend.save, {"server": {"model": name}})
    except (ModelOpError, ConfigError) as exc:
        return await _page(request, status_code=400, error=str(exc), error_for="default")
    return web.redirect("/models", done="default_model")


@router.post("/models/delete")
async def delete(request: Request):
    backend = request.app.state.backend
    form = await request.form()
    name = str(form.get("model") or "").strip()
    try:
        name = model_ops.validate_model_name(name)
        await run_in_threadpool(model_ops.delete_model, backend.server_url(), name)
    except ModelOpError as exc:
        return await _page(request, status_code=400, error=f"Could not delete {name}: {exc}", error_for="delete")
    return web.redirect("/models", done="model_deleted")


def _job_response(request: Request, job, fallback: str):
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(job.snapshot(), status_code=202)
    return web.redirect(fallback, job=job.id)


@router.post("/models/pull")
async def pull(request: Request):
    backend = request.app.state.backend
    form = await request.form()
    try:
        name = model_ops.validate_model_name(str(form.get("model") or ""))
    except ModelOpError as exc:
        return await _form_error(request, exc, "pull", dict(form))
    base_url = backend.server_url()
    insecure = form.get("insecure") in ("on", "true", "yes", "1")

    def work(job):
        job.update(status="starting", percent=0)
        return model_ops.pull_model(base_url, name, lambda p: job.update(**p), cancel=job.cancel,
                                    insecure=insecure)

    job = request.app.state.jobs.start("pull", f"Pulling {name}", work)
    return _job_response(request, job, "/models")


@router.post("/models/import")
async def import_model(request: Request):
    backend = request.app.state.backend
    form = await request.form()
    try:
        path = model_ops.check_gguf(str(form.get("path") or ""))
        name_text = str(form.get("name") or "").strip() or model_ops.default_name_for(path)
        name = model_ops.validate_model_name(name_text)
        models, _ = await run_in_threadpool(_list_models, backend)
        if model_ops.same_model(name, [m.get("name") or m.get("model") or "" for m in models]):
            raise ModelOpError(f"A model named {name} already exists: choose another name (or delete it first).")
    except ModelOpError as exc:
        return await _form_error(request, exc, "import", dict(form))
    base_url = backend.server_url()

    def work(job):
        job.update(status="starting", percent=0)
        return model_ops.import_gguf(base_url, path, name, lambda p: job.update(**p), cancel=job.cancel)

    job = request.app.state.jobs.start("import", f"Importing {path.name} as {name}", work)
    return _job_response(request, job, "/models")


async def _form_error(request: Request, exc: Exception, which: str, form: dict):
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse({"error": str(exc)}, status_code=400)
    return await _page(request, status_code=400, error=str(exc), error_for=which, form=form)


@router.get("/jobs/{job_id}")
async def job_status(request: Request, job_id: str):
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail="no such task (it may have finished a while ago)")
    return JSONResponse(job.snapshot())


@router.post("/jobs/{job_id}/cancel")
async def job_cancel(request: Request, job_id: str):
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise HTTPException(status_code=404, detail="no such task")
    job.cancel.set()
    return JSONResponse(job.snapshot())
