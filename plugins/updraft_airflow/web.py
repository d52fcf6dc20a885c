"""Security headers for every page the updraft plugin serves inside Airflow.

The release board shows changelog and Bugzilla text: escaping keeps it text, and this
Content-Security-Policy is the second wall — no script runs on a plugin page at all, no
resource loads from elsewhere, and only Airflow itself may frame it (the nav entry shows
the board in an iframe). Every FastAPI app of the plugin goes through `harden`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
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
