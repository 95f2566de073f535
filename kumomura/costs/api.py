"""JSON API of the cost sharing under ``/api/v1/consortium/costs`` (the secretariat)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from pydantic import BaseModel, Field

from kumomura.costs import service
from kumomura.costs.forms import report_pdf
from kumomura.costs.rules import Member, Weights
from kumomura.platform.core.errors import Forbidden
from kumomura.platform.http.deps import DbDep, FiscalYear, PrincipalDep
from kumomura.platform.identity.auth import COSTS_MODULE, Permission, Principal, Scope

router = APIRouter(prefix="/api/v1/consortium/costs", tags=["costs"])


def gate(principal: Principal, permission: Permission) -> None:
    if principal.scope == Scope.TENANT or not principal.can(COSTS_MODULE, permission):
        raise Forbidden(f"{principal.username} lacks {permission} on the consortium's costs",
                        field=COSTS_MODULE)


class WeightsIn(BaseModel):
    equal: Decimal = Field(ge=0, le=1, max_digits=12, decimal_places=10)
    population: Decimal = Field(ge=0, le=1, max_digits=12, decimal_places=10)
    usage: Decimal = Field(Decimal(0), ge=0, le=1, max_digits=12, decimal_places=10)
    metric: str | None = Field(None, max_length=64)
    from_year: int = Field(ge=1989, le=2200)
    reason: str | None = Field(None, max_length=500)

    def weights(self) -> Weights:
        return Weights(Fraction(self.equal), Fraction(self.population), Fraction(self.usage),
                       self.metric)


class StandaloneIn(BaseModel):
    amount: int = Field(gt=0)
    basis: str = Field("発注前年間経費", max_length=200)


class NewMember(BaseModel):
    lg_code: str = Field(pattern=r"^\d{6}$")
    name: str = Field(min_length=1, max_length=100)
    population: int = Field(gt=0, le=100_000_000)
    go_live: date
    standalone: int | None = Field(None, gt=0)


class WhatIfIn(BaseModel):
    add: list[NewMember] = Field(default_factory=list)
    remove: list[Annotated[str, Field(pattern=r"^\d{6}$")]] = Field(default_factory=list,
                                                                    max_length=2000)
    weights: dict[str, WeightsIn] = Field(default_factory=dict)
    amounts: dict[str, int] = Field(default_factory=dict)

    def change(self) -> service.Change:
        return service.Change(
            add=tuple(Member(m.lg_code, m.name, m.population,
                             {"residents": m.go_live, "inhabitant_tax": m.go_live},
                             standalone=m.standalone) for m in self.add),
            remove=tuple(self.remove),
            weights=tuple((k, v.weights()) for k, v in self.weights.items()),
            amounts=tuple(self.amounts.items()))


@router.post("/items", status_code=201)
def load_items(db: DbDep, principal: PrincipalDep,
               csv_text: str = Body(..., media_type="text/csv")) -> dict[str, int]:
    """Cost items as CSV (see docs/costs.md); all or none, problems by line and column."""
    gate(principal, Permission.ADMIN)
    items = service.parse_items(csv_text)
    return {"stored": service.store_items(db, items, actor=principal.username)}


@router.put("/items/{code}/weights")
def set_weights(code: str, body: WeightsIn, db: DbDep, principal: PrincipalDep,
                ) -> list[dict[str, Any]]:
    gate(principal, Permission.ADMIN)
    service.set_weights(db, code, body.weights(), from_year=body.from_year,
                        actor=principal.username, reason=body.reason)
    return service.weights_history(db, code)


@router.put("/standalone/{lg_code}/{fiscal_year}")
def set_standalone(lg_code: str, fiscal_year: FiscalYear, body: StandaloneIn, db: DbDep,
                   principal: PrincipalDep) -> dict[str, Any]:
    gate(principal, Permission.ADMIN)
    service.set_standalone(db, lg_code, fiscal_year, body.amount, basis=body.basis,
                           actor=principal.username)
    return {"lg_code": lg_code, "fiscal_year": fiscal_year, "amount": body.amount}


@router.get("/{fiscal_year}")
def allocation(fiscal_year: FiscalYear, db: DbDep, principal: PrincipalDep,
               guarantee: Decimal | None = None) -> dict[str, Any]:
    """The year's split: per member the charge by item, the guarantee's adjustment,
    standalone cost, saving and rate; the totals; whether the guarantee can be met."""
    gate(principal, Permission.VIEW)
    inputs = service.inputs(db, fiscal_year)
    if guarantee is not None:
        inputs = service.apply_change(inputs, service.Change(
            guarantee=Fraction(guarantee) / 100))
    s = service.summary(service.run(inputs))
    return _decimals_as_text({**s, "rows": [_decimals_as_text(r) for r in s["rows"]]})


def _decimals_as_text(values: dict[str, Any]) -> dict[str, Any]:
    """Rates keep their printed digits in JSON ("30.0", "12.50"), not a float's."""
    return {k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()}


@router.post("/{fiscal_year}/what-if")
def what_if(fiscal_year: FiscalYear, body: WhatIfIn, db: DbDep,
            principal: PrincipalDep) -> dict[str, Any]:
    """Each member's charge before and after the change (nothing is stored)."""
    gate(principal, Permission.VIEW)
    return service.what_if(service.inputs(db, fiscal_year), body.change())


@router.get("/{fiscal_year}/report.csv")
def report_csv(fiscal_year: FiscalYear, db: DbDep, principal: PrincipalDep) -> Response:
    gate(principal, Permission.VIEW)
    s = service.summary(service.run(service.inputs(db, fiscal_year)))
    disposition = f'attachment; filename="costs-{fiscal_year}.csv"'
    return Response(service.report_csv(s), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": disposition})


@router.get("/{fiscal_year}/report.pdf")
def report_pdf_(fiscal_year: FiscalYear, db: DbDep, principal: PrincipalDep,
                consortium: str = "置賜自治体クラウド") -> Response:
    gate(principal, Permission.VIEW)
    s = service.summary(service.run(service.inputs(db, fiscal_year)))
    return Response(report_pdf(s, consortium), media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="costs-{fiscal_year}.pdf"'})
