"""Identity's schema end to end (without HTTP), errors in the contract's shape."""
from __future__ import annotations

import stat

import aiohttp
import pytest

from mybroker.auth import ANONYMOUS, Caller, JwtVerifier, internal_headers
from mybroker.bus.memory import MemoryBus
from mybroker.cache import MemoryCache
from mybroker.graphql import GraphQLContext, format_error
from launch.platform import serve_app
from mybroker.service import Infrastructure
from mybroker.settings import Settings
from subgraphs.identity.app import JWKS_PATH, create_service
from subgraphs.identity.keys import KEY_FILE_NAME, KeyRing
from subgraphs.identity.schema import schema

from .conftest import ACCESS_TTL

REGISTER = """
mutation($input: RegisterInput!) {
  register(input: $input) { accessToken refreshToken expiresIn user { id email name createdAt } }
}"""
LOGIN = "mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn user { id } } }"
REFRESH = "mutation($token: String!) { refreshToken(refreshToken: $token) { accessToken refreshToken user { id email } } }"
ME = "{ me { id email name createdAt } }"
ENTITIES = "query($reps: [_Any!]!) { _entities(representations: $reps) { ... on User { id email name } } }"


async def run(identity, query: str, variables: dict | None = None, caller: Caller = ANONYMOUS):
    result = await schema.execute(query, variable_values=variables, context_value=GraphQLContext(caller, identity.service))
    return result.data, [format_error(error) for error in result.errors or []]


def codes(errors) -> list[str]:
    return [error["extensions"]["code"] for error in errors]


async def register(identity, email="ana@example.com", password="s3cret-pass", name="Ana"):
    data, errors = await run(identity, REGISTER, {"input": {"email": email, "password": password, "name": name}})
    assert not errors, errors
    return data["register"]


async def test_register_login_refresh_and_me(identity):
    registered = await register(identity)
    assert registered["user"]["email"] == "ana@example.com" and registered["expiresIn"] == ACCESS_TTL
    assert registered["user"]["createdAt"].endswith("Z")
    user_id = registered["user"]["id"]
    assert (await identity.verifier().verify(registered["accessToken"])).user_id == user_id

    data, errors = await run(identity, LOGIN, {"input": {"email": "ANA@example.com", "password": "s3cret-pass"}})
    assert not errors and data["login"]["user"]["id"] == user_id

    data, errors = await run(identity, REFRESH, {"token": data["login"]["refreshToken"]})
    assert not errors and data["refreshToken"]["user"] == {"id": user_id, "email": "ana@example.com"}

    data, errors = await run(identity, ME, caller=Caller(user_id))
    assert not errors and data["me"]["id"] == user_id and data["me"]["name"] == "Ana"
    data, errors = await run(identity, ME)
    assert not errors and data == {"me": None}


@pytest.mark.parametrize(
    "payload, code",
    [
        ({"email": "ana@example.com", "password": "another-pass", "name": "Ana 2"}, "EMAIL_TAKEN"),
        ({"email": "nope", "password": "another-pass", "name": "X"}, "BAD_USER_INPUT"),
        ({"email": "x@example.com", "password": "1234567", "name": "X"}, "BAD_USER_INPUT"),
        ({"email": "x@example.com", "password": "12345678", "name": " "}, "BAD_USER_INPUT"),
        ({"email": "x@example.com", "password": "12345678"}, "BAD_USER_INPUT"),  # name missing
    ],
)
async def test_register_errors_carry_contract_codes(identity, payload, code):
    await register(identity)
    data, errors = await run(identity, REGISTER, {"input": payload})
    assert data is None and codes(errors) == [code]
    assert "Traceback" not in errors[0]["message"] and "SELECT" not in errors[0]["message"]


async def test_login_and_refresh_errors(identity):
    await register(identity)
    for credentials in ({"email": "ana@example.com", "password": "wrong-pass"}, {"email": "who@example.com", "password": "s3cret-pass"}):
        _data, errors = await run(identity, LOGIN, {"input": credentials})
        assert codes(errors) == ["INVALID_CREDENTIALS"]
    _data, errors = await run(identity, REFRESH, {"token": "garbage"})
    assert codes(errors) == ["UNAUTHENTICATED"]


async def test_user_entities_only_for_that_user(identity):
    ana = (await register(identity))["user"]["id"]
    bob = (await register(identity, "bob@example.com", name="Bob"))["user"]["id"]
    # Strawberry consumes each representation, so every request gets fresh ones.
    reps = lambda: {"reps": [{"__typename": "User", "id": ana}]}  # noqa: E731
    data, errors = await run(identity, ENTITIES, reps(), caller=Caller(ana))
    assert not errors and data["_entities"] == [{"id": ana, "email": "ana@example.com", "name": "Ana"}]
    data, errors = await run(identity, ENTITIES, reps(), caller=Caller(bob))
    assert codes(errors) == ["FORBIDDEN"] and data["_entities"] == [None]
    data, errors = await run(identity, ENTITIES, reps())
    assert codes(errors) == ["UNAUTHENTICATED"]


async def test_the_app_serves_jwks_that_verify_its_tokens(tmp_path, unused_tcp_port):
    settings = Settings(
        data_dir=tmp_path, ports={"identity": unused_tcp_port}, internal_secret="s" * 32, jwt_issuer="iss", jwt_audience="aud"
    )
    service = create_service(Infrastructure(settings, MemoryBus(), MemoryCache()))
    await service.start()
    server, task = await serve_app(service.app, settings.host, unused_tcp_port)
    try:
        assert stat.S_IMODE((tmp_path / KEY_FILE_NAME).stat().st_mode) == 0o600
        base = settings.url("identity")
        async with aiohttp.ClientSession() as http:
            body = {"query": REGISTER, "variables": {"input": {"email": "ana@example.com", "password": "s3cret-pass", "name": "Ana"}}}
            async with http.post(base + "/graphql", json=body) as response:
                registered = (await response.json())["data"]["register"]
            async with http.get(base + JWKS_PATH) as response:
                assert response.status == 200
                jwks = await response.json()
            # The router's path: as the router would forward the verified caller.
            headers = internal_headers(settings.internal_secret, registered["user"]["id"])
            async with http.post(base + "/graphql", json={"query": "{ me { email } }"}, headers=headers) as response:
                assert (await response.json())["data"] == {"me": {"email": "ana@example.com"}}
            # Without the internal token the user header counts for nothing.
            async with http.post(base + "/graphql", json={"query": "{ me { email } }"}, headers={"x-mybroker-user": registered["user"]["id"]}) as response:
                assert (await response.json())["data"] == {"me": None}
        verifier = JwtVerifier(settings.jwks(), issuer="iss", audience="aud")
        await verifier.refresh()  # over HTTP, as the router does
        assert (await verifier.verify(registered["accessToken"])).user_id == registered["user"]["id"]
        on_disk = KeyRing.from_pem_bundle((tmp_path / KEY_FILE_NAME).read_text())
        assert [key["kid"] for key in jwks["keys"]] == [on_disk.signing_key.kid]
    finally:
        server.should_exit = True
        await task
        await service.stop()

