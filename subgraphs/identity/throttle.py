"""Login brute-force protection: per account and per client address, a growing delay
between failed attempts and a temporary lock after too many (issue 13: 200 wrong passwords
in 11.5 s went through).

Pure bookkeeping with an injectable clock (seconds, monotonic): tests step time instead of
sleeping. The account key is the normalised e-mail as typed, whether or not an account has
it, so a lock, a delay and its message are the same for an unknown e-mail as for a known
one: the throttle never tells which e-mails exist. A refusal is decided before the password
is checked, so a locked account refuses the right password too (no oracle while locked).

State lives in a LoginAttemptStore. The embedded default is MemoryAttemptStore (one
identity process); on real infrastructure RedisAttemptStore shares the attempts among every
identity process, so several of them enforce one limit (the clock is then wall time,
comparable across processes, instead of the monotonic one)."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Protocol

from mybroker.errors import DomainError, ErrorCode


@dataclass(frozen=True)
class ThrottlePolicy:
    """How many failures before a lock, how long the lock, and the delay curve.

    The defaults (MYBROKER_LOGIN_* settings) follow OWASP's advice on authentication: a
    person who mistypes up to three times waits nothing, then 1, 2, 4... seconds; a script
    is stopped after 10 failures per account for 15 minutes. The per-address limit is higher because many
    people may share one address (an office NAT, a mobile carrier)."""

    account_max_failures: int = 10
    address_max_failures: int = 100
    lock_seconds: float = 900.0
    # The first `free_failures` failures cost nothing (typos); after the n-th failure beyond
    # them the next attempt waits base * 2**(n-1) seconds, capped.
    free_failures: int = 3
    base_delay: float = 1.0
    max_delay: float = 30.0

    def delay_after(self, failures: int) -> float:
        beyond = failures - self.free_failures
        if beyond <= 0:
            return 0.0
        return min(self.base_delay * 2 ** (beyond - 1), self.max_delay)


@dataclass
class Attempts:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0


class LoginAttemptStore(Protocol):
    async def get(self, key: str) -> Attempts: ...

    async def record_failure(self, key: str, now: float, policy: ThrottlePolicy, max_failures: int) -> Attempts: ...

    async def clear(self, key: str) -> None: ...


class MemoryAttemptStore:
    """One process's attempts. Entries are forgotten once their failures are older than the
    lock, so the map stays as small as the recent attack."""

    def __init__(self, max_entries: int = 100_000) -> None:
        self._entries: dict[str, Attempts] = {}
        self.max_entries = max_entries

    async def get(self, key: str) -> Attempts:
        return self._entries.get(key) or Attempts()

    async def record_failure(self, key: str, now: float, policy: ThrottlePolicy, max_failures: int) -> Attempts:
        entry = self._entries.get(key)
        if entry is None or now - entry.last_failure > policy.lock_seconds:
            entry = Attempts()
        entry.failures += 1
        entry.last_failure = now
        if entry.failures >= max_failures:
            entry.locked_until = now + policy.lock_seconds
        self._entries[key] = entry
        if len(self._entries) > self.max_entries:
            self._forget_old(now, policy)
        return entry

    async def clear(self, key: str) -> None:
        self._entries.pop(key, None)

    def _forget_old(self, now: float, policy: ThrottlePolicy) -> None:
        for key in [k for k, e in self._entries.items() if now - e.last_failure > policy.lock_seconds]:
            del self._entries[key]


# One atomic step per failure (Redis runs a script alone): reset a stale entry, count, stamp,
# lock at the threshold, and keep the key only as long as it can matter (the lock).
_RECORD_FAILURE = """
local key, now, lock, max = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local last = tonumber(redis.call('HGET', key, 'last') or '0')
if now - last > lock then redis.call('DEL', key) end
local failures = redis.call('HINCRBY', key, 'failures', 1)
redis.call('HSET', key, 'last', ARGV[1])
if failures >= max then redis.call('HSET', key, 'locked', tostring(now + lock)) end
redis.call('PEXPIRE', key, math.ceil(lock * 1000))
return redis.call('HMGET', key, 'failures', 'last', 'locked')
"""


class RedisAttemptStore:
    """Attempts in Redis hashes (`<namespace>login:<key>`), shared by every identity process."""

    def __init__(self, url: str, namespace: str = "") -> None:
        import redis.asyncio as redis  # lazy: the embedded default never needs the client

        self._redis = redis.Redis.from_url(url)
        self.prefix = namespace + "login:"
        self._record = self._redis.register_script(_RECORD_FAILURE)

    @staticmethod
    def _attempts(values) -> Attempts:
        failures, last, locked = values
        return Attempts(int(failures or 0), float(last or 0), float(locked or 0))

    async def get(self, key: str) -> Attempts:
        return self._attempts(await self._redis.hmget(self.prefix + key, "failures", "last", "locked"))

    async def record_failure(self, key: str, now: float, policy: ThrottlePolicy, max_failures: int) -> Attempts:
        return self._attempts(await self._record(keys=[self.prefix + key], args=[repr(now), policy.lock_seconds, max_failures]))

    async def clear(self, key: str) -> None:
        await self._redis.delete(self.prefix + key)

    async def close(self) -> None:
        await self._redis.aclose()


def rate_limited(retry_after: float) -> DomainError:
    seconds = max(1, int(retry_after + 0.999))
    return DomainError(
        ErrorCode.RATE_LIMITED,
        f"Muitas tentativas de entrar. Tente de novo em {seconds} s. "
        f"(Too many sign-in attempts; try again in {seconds} s.)",
    )


class LoginThrottle:
    def __init__(
        self,
        policy: ThrottlePolicy | None = None,
        store: LoginAttemptStore | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.policy = policy or ThrottlePolicy()
        self.store = store or MemoryAttemptStore()
        self.clock = clock

    @staticmethod
    def _keys(email: str, address: str | None) -> list[tuple[str, str]]:
        keys = [("account", "account:" + email)]
        if address:
            keys.append(("address", "address:" + address))
        return keys

    def _max(self, kind: str) -> int:
        return self.policy.account_max_failures if kind == "account" else self.policy.address_max_failures

    async def check(self, email: str, address: str | None) -> None:
        """Raises RATE_LIMITED while the account or the address is locked or in its delay."""
        now = self.clock()
        wait, locked = 0.0, False
        for _kind, key in self._keys(email, address):
            entry = await self.store.get(key)
            if entry.failures == 0 or now - entry.last_failure > self.policy.lock_seconds:
                continue
            locked = locked or entry.locked_until > now
            wait = max(wait, entry.locked_until - now, entry.last_failure + self.policy.delay_after(entry.failures) - now)
        if wait > 0:
            if not locked:
                # An attempt that did not wait out its delay counts as a failure: a script
                # hammering the endpoint reaches the lock at once instead of trickling on.
                # (A lock is not extended by attempts made while it holds.)
                await self.failed(email, address)
            raise rate_limited(wait)

    async def failed(self, email: str, address: str | None) -> None:
        now = self.clock()
        for kind, key in self._keys(email, address):
            await self.store.record_failure(key, now, self.policy, self._max(kind))

    async def succeeded(self, email: str) -> None:
        """The account starts afresh; the address keeps its count (one address trying many
        accounts, a password spray, still runs into its own limit)."""
        await self.store.clear("account:" + email)
