"""CSRF prevention, as Apollo Router and Apollo Server do it.

A browser sends a "simple" request cross-site without asking first (no CORS preflight):
a GET, or a POST whose Content-Type is missing or one of the three form/text types. The
server cannot tell such a request from a forged one, so it refuses it unless it carries
a header a browser only sends after a preflight the CORS policy allowed. A JSON POST
(`Content-Type: application/json`) always needs a preflight and passes as it is; a POST
with another type that passes here is still refused later, 415 (router/stages.py,
ContentTypeStage): the router reads only JSON bodies."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

# Content types an HTML form or a plain fetch() may send without a preflight.
SIMPLE_CONTENT_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"})
DEFAULT_REQUIRED_HEADERS = ("x-apollo-operation-name", "apollo-require-preflight")


@dataclass(frozen=True)
class CsrfPolicy:
    enabled: bool = True
    # Any one of these, non-empty, proves the request was preflighted.
    required_headers: tuple[str, ...] = DEFAULT_REQUIRED_HEADERS


def csrf_refusal(headers: Mapping[str, str], policy: CsrfPolicy) -> str | None:
    """Why the request is refused as a possible CSRF, or None if it may run. `headers`
    must be case-insensitive (Starlette's Headers are)."""
    if not policy.enabled or _needs_preflight(headers.get("content-type")):
        return None
    if any(headers.get(name, "").strip() for name in policy.required_headers):
        return None
    return (
        "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
        "Please either specify a 'content-type' header (with a type that is not one of "
        f"{', '.join(sorted(SIMPLE_CONTENT_TYPES))}) or provide a non-empty value for one of "
        f"the following headers: {', '.join(policy.required_headers)}"
    )


def _needs_preflight(content_type: str | None) -> bool:
    if content_type is None:
        return False
    essence = content_type.split(";", 1)[0].strip().lower()
    # An unparsable type is not one a browser sends on its own: it needed a preflight.
    if "/" not in essence:
        return bool(essence)
    return essence not in SIMPLE_CONTENT_TYPES
