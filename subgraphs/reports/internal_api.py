"""The fill intake orders calls before an order shows a fill (docs/internals.md), so the
portfolio is as fresh as the order: the body is an OrderUpdated's fields for the fill."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from mybroker.errors import bad_input
from mybroker.service import internal_api
from subgraphs.reports.service import ReportsService
from subgraphs.reports.wire import handed_fill


def fills_router(service: ReportsService, secret: str) -> APIRouter:
    router = internal_api(secret)

    @router.post("/fills")
    async def record_fill(request: Request) -> dict[str, Any]:
        try:
            body = await request.json()
        except ValueError:
            raise bad_input("The body must be JSON.") from None
        if not isinstance(body, dict):
            raise bad_input("The body must be a JSON object.")
        try:
            fill = handed_fill(body)
        except ValueError as exc:
            raise bad_input(str(exc)) from None
        if fill is None:
            raise bad_input("'lastFill' is required.")
        return {"executionId": fill.execution_id, "recorded": await service.record_fill(fill)}

    return router
