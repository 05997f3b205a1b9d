"""The reports subgraph's GraphQL types: it adds `User.portfolio` and references assets.

It owns no root field, so its Query holds only the federation machinery (`_entities`,
`_service`); the router reaches `portfolio` through a User entity fetch."""
from __future__ import annotations

from decimal import Decimal

import strawberry
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

from mybroker.graphql import GraphQLContext, federation_schema
from subgraphs.reports import domain
from subgraphs.reports.service import ReportsService

# The context SubgraphGraphQL builds, with this subgraph's service: what resolvers get as `info`.
Info = strawberry.Info[GraphQLContext[ReportsService], None]


@strawberry.federation.type(keys=[Key(fields=FieldSet("ticker"), resolvable=False)])
class Asset:
    ticker: strawberry.ID


@strawberry.type
class PortfolioPosition:
    asset: Asset
    quantity: int
    average_price: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal

    @classmethod
    def from_domain(cls, value: domain.PositionValue) -> "PortfolioPosition":
        return cls(
            asset=Asset(ticker=strawberry.ID(value.ticker)),
            quantity=value.quantity,
            average_price=value.average_price,
            market_value=value.market_value,
            unrealized_pnl=value.unrealized_pnl,
        )


@strawberry.type
class Portfolio:
    positions: list[PortfolioPosition]
    market_value: Decimal
    cost_basis: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal

    @classmethod
    def from_domain(cls, value: domain.PortfolioValue) -> "Portfolio":
        return cls(
            positions=[PortfolioPosition.from_domain(p) for p in value.positions],
            market_value=value.market_value,
            cost_basis=value.cost_basis,
            unrealized_pnl=value.unrealized_pnl,
            realized_pnl=value.realized_pnl,
        )


@strawberry.federation.type(keys=["id"])
class User:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> "User":
        return cls(id=id)

    @strawberry.field
    async def portfolio(self, info: Info) -> Portfolio:
        return Portfolio.from_domain(await info.context.service.portfolio(info.context.caller, self.id))


schema = federation_schema(types=[User])
