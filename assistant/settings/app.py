"""The settings web app: FastAPI + Jinja2 templates, every asset served from this package."""

from __future__ import annotations

import logging

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.settings import web
from assistant.settings.jobs import JobRegistry
from assistant.settings.security import Secrets, SecurityMiddleware

log = logging.getLogger(__name__)


def create_app(backend, *, port: int, run: Secrets) -> FastAPI:
    from assistant.settings import (routes_assistant, routes_commands, routes_history, routes_models,
                                    routes_privacy, routes_voice)

    app = FastAPI(title="hushtype settings", docs_url=None, redoc_url=None, openapi_url=None,
                  dependencies=[Depends(web.csrf_guard)])
    app.state.backend = backend
    app.state.secrets = run
    app.state.port = port
    app.state.jobs = JobRegistry()
    app.add_middleware(SecurityMiddleware, port_getter=lambda: app.state.port, run=run)
    app.mount("/static", StaticFiles(directory=str(web.STATIC_DIR)), name="static")

    @app.get("/healthz")
    async def healthz():
        return {"app": "hushtype-settings"}

    @app.get("/")
    async def home():
        return RedirectResponse("/history", status_code=303)

    for module in (routes_history, routes_commands, routes_models, routes_voice, routes_privacy,
                   routes_assistant):
        app.include_router(module.router)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        return _error_response(request, exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        problems = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', []))}: {e.get('msg')}" for e in exc.errors())
        return _error_response(request, 400, problems or "invalid request")

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception):
        log.exception("settings page: %s %s failed", request.method, request.url.path)
        return _error_response(request, 500, f"{exc.__class__.__name__}: {exc}")

    return app


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "") or request.url.path.startswith("/api/")


def _error_response(request: Request, status: int, message: str):
    if _wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    titles = {400: "That did not work", 403: "Not allowed", 404: "Not found", 405: "Not allowed",
              409: "Conflict", 413: "Too large"}
    return web.render(request, "error.html", page="", status_code=status,
                      title=titles.get(status, "Something went wrong"), message=message)

