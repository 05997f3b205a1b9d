"""Login brute-force protection, on a stepped clock: no sleeps, milliseconds per test."""
from __future__ import annotations

import pytest

from mybroker.auth import CLIENT_ADDRESS_HEADER, client_address_from_headers, internal_headers
from mybroker.errors import DomainError, ErrorCode
from subgraphs.identity.throttle import LoginThrottle, ThrottlePolicy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


POLICY = ThrottlePolicy(account_max_failures=5, address_max_failures=8, lock_seconds=60, free_failures=2, base_delay=1, max_delay=4)


def throttle() -> tuple[LoginThrottle, Clock]:
    clock = Clock()
    return LoginThrottle(POLICY, clock=clock), clock


async def refused(t: LoginThrottle, email: str, address: str | None = None) -> str:
    with pytest.raises(DomainError) as caught:
        await t.check(email, address)
    assert caught.value.code is ErrorCode.RATE_LIMITED
    return caught.value.message


def test_delay_grows_and_is_capped():
    assert [POLICY.delay_after(n) for n in range(7)] == [0, 0, 0, 1, 2, 4, 4]


async def test_free_failures_then_growing_delay_then_lock():
    t, clock = throttle()
    for _ in range(2):  # typos cost nothing
        await t.check("ana@example.com", None)
        await t.failed("ana@example.com", None)
    await t.check("ana@example.com", None)
    await t.failed("ana@example.com", None)  # third: one second
    clock.now += 0.5
    message = await refused(t, "ana@example.com")
    assert message.startswith("Muitas tentativas") and "1 s" in message
    clock.now += 3  # past the 2 s the refused (fourth) attempt cost
    await t.check("ana@example.com", None)
    await t.failed("ana@example.com", None)  # fifth: locked for the whole minute
    clock.now += 30
    await refused(t, "ana@example.com")
    clock.now += 31
    await t.check("ana@example.com", None)  # the lock expired, and with it the count


async def test_hammering_through_the_delay_reaches_the_lock_at_once():
    t, clock = throttle()
    for _ in range(3):
        await t.failed("ana@example.com", None)
    for _ in range(2):  # not waiting out the delay: each counts as a failure
        await refused(t, "ana@example.com")
    clock.now += 10  # far past any delay, but now within the lock
    message = await refused(t, "ana@example.com")
    assert "50 s" in message  # 60 s lock, 10 s gone; not extended by the refused attempt
    clock.now += 51
    await t.check("ana@example.com", None)


async def test_success_resets_the_account_but_not_the_address():
    t, clock = throttle()
    for _ in range(4):
        clock.now += 10
        await t.failed("ana@example.com", "10.0.0.9")
    await t.succeeded("ana@example.com")
    clock.now += 10
    await t.check("ana@example.com", None)
    # A spray from one address over many accounts runs into the address's own limit.
    for n in range(4):
        clock.now += 10
        await t.failed(f"user{n}@example.com", "10.0.0.9")
    await refused(t, "someone-else@example.com", "10.0.0.9")
    await t.check("someone-else@example.com", "10.0.0.10")


async def test_unknown_and_known_emails_are_treated_alike():
    """The key is the e-mail as typed: the throttle cannot know, and never tells, if it exists."""
    t, clock = throttle()
    for _ in range(5):
        await t.failed("nobody@example.com", None)
        await t.failed("ana@example.com", None)
    assert await refused(t, "nobody@example.com") == await refused(t, "ana@example.com")


async def test_throttle_through_the_identity_service(identity):
    """Wrong passwords lock the account; then even the right one is refused, with the same
    answer as for an unknown e-mail; nothing says which one exists."""
    clock = Clock()
    identity.service.throttle = LoginThrottle(POLICY, clock=clock)
    await identity.service.register("ana@example.com", "correct horse battery", "Ana")
    answers = {}
    for email in ("ana@example.com", "nobody@example.com"):
        seen = []
        for _ in range(5):
            clock.now += 10  # past each delay
            with pytest.raises(DomainError) as caught:
                await identity.service.login(email, "wrong password!", "10.1.1.1" if email[0] == "a" else "10.1.1.2")
            seen.append((caught.value.code, caught.value.message))
        with pytest.raises(DomainError) as caught:
            await identity.service.login(email, "correct horse battery")
        seen.append((caught.value.code, caught.value.message))
        answers[email] = seen
    assert answers["ana@example.com"] == answers["nobody@example.com"]
    assert [code for code, _ in answers["ana@example.com"]] == [ErrorCode.INVALID_CREDENTIALS] * 5 + [ErrorCode.RATE_LIMITED]
    clock.now += 61
    assert (await identity.service.login("ana@example.com", "correct horse battery")).user.email == "ana@example.com"


def test_subgraphs_believe_the_forwarded_address_only_beside_the_internal_secret():
    assert client_address_from_headers(internal_headers("s3cret", None, "1.2.3.4"), "s3cret") == "1.2.3.4"
    assert client_address_from_headers({CLIENT_ADDRESS_HEADER: "1.2.3.4"}, "s3cret") is None
    assert client_address_from_headers(internal_headers("other", None, "1.2.3.4"), "s3cret") is None
