"""Identity's part of the API: User (the entity others extend), sign-up, sign-in, refresh."""
from __future__ import annotations

from datetime import datetime

import strawberry

from mybroker.graphql import GraphQLContext, federation_schema
from subgraphs.identity import domain
from subgraphs.identity.service import AuthSession, IdentityService

# The context SubgraphGraphQL builds, with this subgraph's service: what resolvers get as `info`.
Info = strawberry.Info[GraphQLContext[IdentityService], None]


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID
    email: str
    name: str
    created_at: datetime

    @classmethod
    def from_domain(cls, user: domain.User) -> "User":
        return cls(id=strawberry.ID(user.id), email=user.email, name=user.name, created_at=user.created_at)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> "User | None":
        return _maybe(await info.context.service.user_for(info.context.caller, str(id)))


@strawberry.type
class AuthPayload:
    access_token: str
    refresh_token: str
    expires_in: int = strawberry.field(description="lifetime of the access token in seconds")
    user: User

    @classmethod
    def from_session(cls, session: AuthSession) -> "AuthPayload":
        return cls(
            access_token=session.access_token,
            refresh_token=session.refresh_token,
            expires_in=session.expires_in,
            user=User.from_domain(session.user),
        )


@strawberry.input
class RegisterInput:
    email: str
    password: str
    name: str


@strawberry.input
class LoginInput:
    email: str
    password: str
    totp_code: str | None = strawberry.field(
        default=None, description="the authenticator app's 6-digit code, for accounts with the second factor on"
    )


@strawberry.type
class TotpSetup:
    secret: str = strawberry.field(description="base32, for typing into an authenticator app")
    otpauth_uri: str = strawberry.field(description="otpauth:// URI, for a QR code")


@strawberry.type
class Query:
    # Shareable: orders and reports answer `me` too (its key only), so `me { orders wallet }`
    # starts in orders, not with a hop through identity (docs/design.md, "`me` in one hop").
    @strawberry.federation.field(shareable=True, description="the caller; null without a valid token")
    async def me(self, info: Info) -> User | None:
        return _maybe(await info.context.service.me(info.context.caller))


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def register(self, info: Info, input: RegisterInput) -> AuthPayload:
        return AuthPayload.from_session(await info.context.service.register(input.email, input.password, input.name))

    @strawberry.mutation
    async def login(self, info: Info, input: LoginInput) -> AuthPayload:
        session = await info.context.service.login(input.email, input.password, info.context.client_address, input.totp_code)
        return AuthPayload.from_session(session)

    @strawberry.mutation
    async def refresh_token(self, info: Info, refresh_token: str) -> AuthPayload:
        return AuthPayload.from_session(await info.context.service.refresh(refresh_token))

    @strawberry.mutation(
        description="signs out the session of this refresh token: it and its access tokens stop working "
        "(the access tokens within a second); true also for an unknown token"
    )
    async def logout(self, info: Info, refresh_token: str) -> bool:
        return await info.context.service.logout(refresh_token)

    @strawberry.mutation(
        description="signed in: a new password (at least 8 characters); every other session is signed out, this one kept"
    )
    async def change_password(self, info: Info, current_password: str, new_password: str) -> bool:
        ctx = info.context
        return await ctx.service.change_password(ctx.caller, current_password, new_password, ctx.client_address)

    @strawberry.mutation(
        description="mails a single-use reset code (valid 30 minutes) if the e-mail has an account; always true"
    )
    async def request_password_reset(self, info: Info, email: str) -> bool:
        return await info.context.service.request_password_reset(email)

    @strawberry.mutation(description="a new password with the mailed reset code; every session is signed out")
    async def reset_password(self, info: Info, token: str, new_password: str) -> bool:
        return await info.context.service.reset_password(token, new_password)

    @strawberry.mutation(description="signed in: a new TOTP secret, pending until confirmTotp")
    async def enable_totp(self, info: Info) -> TotpSetup:
        secret, uri = await info.context.service.enable_totp(info.context.caller)
        return TotpSetup(secret=secret, otpauth_uri=uri)

    @strawberry.mutation(description="turns the second factor on with a code from the app set up by enableTotp")
    async def confirm_totp(self, info: Info, code: str) -> bool:
        return await info.context.service.confirm_totp(info.context.caller, code)

    @strawberry.mutation(description="turns the second factor off; needs a current code")
    async def disable_totp(self, info: Info, code: str) -> bool:
        return await info.context.service.disable_totp(info.context.caller, code)

    @strawberry.mutation(description="signs out every session of the caller, this one included")
    async def logout_everywhere(self, info: Info) -> bool:
        return await info.context.service.logout_everywhere(info.context.caller)


def _maybe(user: domain.User | None) -> User | None:
    return User.from_domain(user) if user is not None else None


schema = federation_schema(query=Query, mutation=Mutation, types=[User])
