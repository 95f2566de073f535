"""The secretariat's 割り勘 pages: each member's cost before and after, the saving, and
the published table as CSV or PDF."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kumomura.costs import service as costs
from kumomura.costs.api import gate
from kumomura.costs.forms import report_pdf
from kumomura.platform import params
from kumomura.platform.core.businesses import BUSINESSES
from kumomura.platform.core.errors import KumomuraError, NotFound
from kumomura.platform.http.deps import DbDep, FiscalYear, YearQuery
from kumomura.platform.http.pages import PagePrincipal, render
from kumomura.platform.identity.auth import Permission

ui = APIRouter(prefix="/console/costs", include_in_schema=False)


@ui.get("", response_class=HTMLResponse)
def console_costs(request: Request, db: DbDep, principal: PagePrincipal,
                  year: YearQuery | None = None) -> HTMLResponse:
    """割り勘: each member's cost before and after, the saving, and bars to compare."""
    gate(principal, Permission.VIEW)
    year = year or params.fiscal_year(date.today())
    try:
        s = costs.summary(costs.run(costs.inputs(db, year)))
        problem = None
    except KumomuraError as exc:
        s, problem = None, exc.message
    largest = max([max(r["standalone"] or 0, r["charge"]) for r in s["rows"]] or [1]) \
        if s else 1
    return render(request, "costs/console.html", year=year, s=s, problem=problem,
                  largest=largest or 1, names=BUSINESSES)


@ui.get("/{year}/report.{kind}", response_model=None)
def console_costs_report(request: Request, year: FiscalYear, kind: str, db: DbDep,
                         principal: PagePrincipal) -> Response:
    """The published table as CSV or PDF, for the secretariat's browser."""
    gate(principal, Permission.VIEW)
    s = costs.summary(costs.run(costs.inputs(db, year)))
    if kind == "csv":
        return Response(costs.report_csv(s), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="costs-{year}.csv"'})
    if kind == "pdf":
        return Response(report_pdf(s, "置賜自治体クラウド"), media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="costs-{year}.pdf"'})
    raise NotFound(f"report.{kind} はありません", field="kind")
