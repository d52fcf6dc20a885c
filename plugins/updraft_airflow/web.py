"""Security headers for every page the updraft plugin serves inside Airflow.

The pages show changelog and Bugzilla text: escaping keeps it text, and this
Content-Security-Policy is the second wall — no inline script or handler ever runs, the
only script is the plugin's own file (/updraft/static/updraft.js: the UI's theme, links
opened in the UI, the Start button's REST call), nothing loads from elsewhere, and only
Airflow itself may frame the pages (the nav entries show them in an iframe). Every
FastAPI app of the plugin goes through `harden`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self'; font-src 'self'; "
    "frame-ancestors 'self'; base-uri 'none'; form-action 'self'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def harden(app: FastAPI) -> FastAPI:
    """Send HEADERS with every response of `app`, errors and redirects included."""

    @app.middleware("http")
    async def security_headers(request: Request,
                               call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        for name, value in HEADERS.items():
            response.headers[name] = value
        return response

    return app
