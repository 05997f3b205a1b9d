"""Which browser origins may call the router (CORS). By default none but the router's own:
no CORS headers are sent, so browsers keep other sites' pages out."""
from __future__ import annotations

from dataclasses import dataclass

from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

# Headers a browser client may send cross-origin: GraphQL over HTTP, the CSRF headers, the
# query-plan header and W3C trace context.
ALLOWED_HEADERS = (
    "content-type", "authorization", "accept",
    "apollo-require-preflight", "x-apollo-operation-name", "apollo-query-plan-experimental",
    "traceparent", "tracestate",
)


@dataclass(frozen=True)
class CorsPolicy:
    # Exact origins ("https://app.example.com"); empty with allow_any_origin False: same-origin only.
    allow_origins: tuple[str, ...] = ()
    allow_any_origin: bool = False
    # Cookies and Authorization on cross-origin requests; never combined with "any origin"
    # by browsers, so the origin is echoed back instead of "*".
    allow_credentials: bool = False
    # Seconds a browser may cache a preflight answer.
    max_age: int = 600

    @property
    def enabled(self) -> bool:
        return self.allow_any_origin or bool(self.allow_origins)


def cors_middleware(policy: CorsPolicy) -> list[Middleware]:
    if not policy.enabled:
        return []
    if policy.allow_any_origin:
        # Starlette answers "*" unless credentials are on; then it must echo the origin.
        origins = dict(allow_origin_regex=".*") if policy.allow_credentials else dict(allow_origins=["*"])
    else:
        origins = dict(allow_origins=list(policy.allow_origins))
    return [
        Middleware(
            CORSMiddleware,
            **origins,
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=list(ALLOWED_HEADERS),
            allow_credentials=policy.allow_credentials,
            max_age=policy.max_age,
        )
    ]
