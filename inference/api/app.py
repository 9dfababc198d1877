"""FastAPI application factory for the Ollama-compatible server.

Every error leaves as Ollama's ``{"error": "..."}`` body: :class:`ApiError` with its status,
unknown routes 404, wrong methods 405, FastAPI's validation errors 400 (never 422), anything
unexpected 500 (and logged). The OpenAPI description is served at ``/openapi.json``; the
``/docs`` and ``/redoc`` pages are disabled because they would make a browser fetch assets
from a CDN, and this server makes nothing leave the machine.
"""

from __future__ import annotations

import importlib
import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import inference
from inference.api.errors import ApiError
from inference.engine.scheduler import ClientDisconnected, Scheduler, SchedulerConfig
from inference.api.security import OriginPolicy, SecurityMiddleware

log = logging.getLogger("inference.server")

# Routers of other areas, included when present (model management, OpenAI compatibility).
EXTRA_ROUTERS = ("inference.api.routes_models", "inference.api.openai_compat")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{where}: {err.get('msg')}" if where else str(err.get("msg")))
    return "invalid request: " + "; ".join(parts) if parts else "invalid request"


def create_app(
    store,
    scheduler_config: SchedulerConfig | None = None,
    *,
    scheduler: Scheduler | None = None,
    bind_host: str = "127.0.0.1",
    origins: OriginPolicy | None = None,
) -> FastAPI:
    """The server app for ``store`` (a ModelStore). ``bind_host`` drives the Host check."""
    sched = scheduler or Scheduler(scheduler_config or SchedulerConfig.from_env())

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        await sched.close()

    app = FastAPI(
        title="hushtype inference server",
        description="Ollama-compatible HTTP API over llama.cpp; runs models on this machine only.",
        version=inference.__version__,
        docs_url=None,
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.store = store
    app.state.scheduler = sched
    from inference.models.integrity import shared_verifier

    app.state.blob_verifier = shared_verifier()  # weights checked (once per file version) before a load

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return _error(exc.status, exc.message)

    @app.exception_handler(ClientDisconnected)
    async def client_gone(request: Request, exc: ClientDisconnected):
        return JSONResponse({"error": "client disconnected"}, status_code=499)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        return _error(400, _validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 404:
            message = "404 page not found"
        elif exc.status_code == 405:
            message = "405 method not allowed"
        else:
            message = str(exc.detail)
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _error(500, str(exc) or exc.__class__.__name__)

    from inference.api import routes_core

    app.include_router(routes_core.router)
    for module_name in EXTRA_ROUTERS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                log.debug("%s not available; its endpoints are not served", module_name)
                continue
            raise
        router = getattr(module, "router", None)
        if router is not None:
            app.include_router(router)

    from inference.api import openapi_doc

    openapi_doc.install(app)  # the request bodies' schemas, so that every $ref resolves
    app.add_middleware(SecurityMiddleware, bind_host=bind_host, origins=origins or OriginPolicy.from_env())
    return app
