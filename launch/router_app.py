"""The router assembled for the platform: where the broker's settings and its JWT
verification meet the standalone router. `router/` imports nothing of ours (docs/design.md,
"Who may import whom"); this module, in the composition root (launch/) with `launch.cli`
and `launch.platform`, reads the MYBROKER_* settings and plugs the broker's parts into the
router's hooks: the authenticator, the rate-limit store, uvicorn's edge-timeout protocol."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from mybroker.auth import JwtVerifier, bearer_token, session_revocations
from mybroker.errors import DomainError
from mybroker.settings import Settings
from router.auth import ANONYMOUS, AuthenticationError, Caller
from router.http import RouterConfig, create_router_app
from router.options import config_fields
from router.rate_limit import BucketStore, MemoryBucketStore, RedisBucketStore
from router.supergraph import Supergraph
from launch.web_dist import playground_dir

# uvicorn's HTTP protocol for the router's port: header and body deadlines (slow-loris).
EDGE_PROTOCOL = "mybroker.edge_timeouts:EdgeTimeoutProtocol"
# What uvicorn calls in each `mybroker router --workers N` process.
WORKER_FACTORY = "launch.router_app:worker_app"


class JwtAuthenticator:
    """The broker's access tokens as the router's Authenticator (router/auth.py):
    `Authorization: Bearer <token>` verified by mybroker.auth.JwtVerifier; no header is an
    anonymous caller; a malformed header or a token that does not verify is refused."""

    __slots__ = ("verifier",)

    def __init__(self, verifier: JwtVerifier):
        self.verifier = verifier

    async def authenticate(self, headers: Mapping[str, str]) -> Caller:
        try:
            token = bearer_token(headers.get("authorization"))
            if token is None:
                return ANONYMOUS
            verified = await self.verifier.verify(token)
        except DomainError as error:  # UNAUTHENTICATED, with the reason for the client
            raise AuthenticationError(error.message) from None
        return Caller(verified.user_id, verified.session_id)


def jwt_authenticator(settings: Settings, jwks_url: str) -> JwtAuthenticator:
    """Verifying with the keys at `jwks_url`, refusing sessions identity has signed out."""
    return JwtAuthenticator(JwtVerifier(
        jwks_url, issuer=settings.jwt_issuer, audience=settings.jwt_audience, revocations=session_revocations(settings),
    ))


def bucket_store(settings: Settings) -> BucketStore:
    """Redis when the platform's cache is Redis (MYBROKER_INFRA=real, or MYBROKER_CACHE=redis,
    at MYBROKER_REDIS_URL), as identity's login throttle decides; this process's memory
    otherwise (then each `--workers` process has buckets of its own)."""
    if settings.cache == "redis":
        return RedisBucketStore(settings.redis_url, settings.channel_namespace)
    return MemoryBucketStore()


def router_config(
    settings: Settings, options: Mapping[str, Any], *, authenticator: Any = None, web_dir: Path | None = None,
    playground_dir: Path | None = None,
) -> RouterConfig:
    """The router's configuration from the settings and its edge options (router/options.py)."""
    # Each `--workers` process builds its own store: on Redis they all share the buckets,
    # in memory each worker has its own.
    # Signing out ends a session's download links too: the same revocation list the
    # authenticator checks access tokens against.
    revocations = getattr(getattr(authenticator, "verifier", None), "revocations", None)
    return RouterConfig(
        authenticator=authenticator, internal_secret=settings.internal_secret,
        session_revoked=None if revocations is None else revocations.is_revoked,
        trusted_proxies=frozenset(settings.trusted_proxies), rate_limit_store=bucket_store(settings),
        web_dir=web_dir, playground_dir=playground_dir, **config_fields(options),
    )


def standalone_app(supergraph: Supergraph, options: Mapping[str, Any], settings: Settings, jwks: str | None = None):
    """`mybroker router`'s app: tokens verified when a JWKS is given (--jwks or
    MYBROKER_JWKS_URL), every caller anonymous otherwise; GraphiQL as `make up` built it."""
    jwks_url = jwks or settings.jwks_url
    authenticator = jwt_authenticator(settings, jwks_url) if jwks_url else None
    return create_router_app(supergraph, router_config(settings, options, authenticator=authenticator, playground_dir=playground_dir()))


def worker_app():
    """One `--workers` process's app (uvicorn calls this factory in each worker)."""
    from router.standalone import load_supergraph
    from router.tracing import configure_tracing
    from router.workers import read_spec

    spec = read_spec()
    configure_tracing("mybroker-router")
    supergraph = load_supergraph(spec["sdl"], "the supergraph")
    return standalone_app(supergraph, spec["options"], Settings.from_env(), spec["extra"].get("jwks"))

