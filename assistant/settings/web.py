"""Shared pieces of the settings pages: templates, the CSRF guard, notices, form errors."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates

from assistant.settings import security

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

NAV = [
    ("history", "History", "/history"),
    ("retention", "Retention", "/retention"),
    ("commands", "Commands", "/commands"),
    ("models", "Models", "/models"),
    ("voice", "Voice", "/voice"),
    ("privacy", "Privacy", "/privacy"),
]

# Notices shown after a redirect (?done=key); only these texts can appear, so a crafted link
# cannot put words on the page.
NOTICES = {
    "deleted": "The entry was deleted.",
    "wiped": "History wiped: every entry is gone from the database file.",
    "retention": "Retention saved and applied.",
    "saved": "Saved. The assistant uses the new settings now.",
    "added": "Command added.",
    "removed": "Command removed.",
    "default_model": "Default model changed.",
    "model_deleted": "Model deleted.",
    "imported": "Model imported.",
    "paused": "hushtype is paused: it ignores your keys until you resume.",
    "resumed": "hushtype is listening again.",
}


def _format_bytes(size: int | float | None) -> str:
    if size is None:
        return "—"
    size = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


def _format_time(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, (int, float)):
        value = datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone().strftime("%Y-%m-%d %H:%M")


def _truncate(text, limit: int = 80) -> str:
    text = " ".join(str(text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.filters["bytes"] = _format_bytes
templates.env.filters["when"] = _format_time
templates.env.filters["truncate_text"] = _truncate


def render(request: Request, name: str, page: str, status_code: int = 200, **context):
    run: security.Secrets = request.app.state.secrets
    notice = NOTICES.get(request.query_params.get("done", ""))
    base = {
        "nav": NAV,
        "page": page,
        "csrf_token": run.csrf,
        "csrf_field": security.CSRF_FIELD,
        "notice": notice,
        "assistant_paused": request.app.state.backend.is_paused(),
        "here": request.url.path,
    }
    return templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)


def redirect(path: str, done: str | None = None, **params) -> RedirectResponse:
    query = {k: v for k, v in params.items() if v not in (None, "")}
    if done:
        query["done"] = done
    return RedirectResponse(path + ("?" + urlencode(query) if query else ""), status_code=303)


async def csrf_guard(request: Request) -> None:
    """App-wide dependency: every state-changing request must carry the CSRF token."""
    if request.method in security.SAFE_METHODS:
        return
    supplied = request.headers.get(security.CSRF_HEADER)
    if not supplied:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            try:
                form = await request.form()
            except Exception:
                raise HTTPException(status_code=400, detail="malformed form data")
            supplied = form.get(security.CSRF_FIELD)
    if not security.csrf_ok(request.app.state.secrets, supplied):
        raise HTTPException(status_code=403, detail="missing or wrong CSRF token: reload the page and try again")
