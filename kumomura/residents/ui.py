"""The counter's pages (窓口) for the resident registry: search as you type, the record
with history and household, the change forms, certificates with a PDF preview.

Thin over the service, like the API: each page checks the permission, opens one tenant
transaction and calls one use case; every look is audited with its purpose.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from kumomura.platform import installation
from kumomura.platform.core.errors import KumomuraError, NotFound
from kumomura.platform.core.japanese import era_date
from kumomura.platform.http.deps import DbDep, RowId
from kumomura.platform.http.pages import (
    PagePrincipal,
    blank_to_none,
    field_errors,
    form_fields,
    page_audit,
    redirect_with_notice,
    render,
    text_fields,
)
from kumomura.platform.identity.auth import Permission, Principal, require_tenant
from kumomura.platform.tenancy.profile import office_of
from kumomura.residents import certificates, service
from kumomura.residents import changes as ch
from kumomura.residents.models import (
    HOUSEHOLDER,
    RELATIONSHIPS,
    Birth,
    Cancellation,
    CertificateRequest,
    Correction,
    Death,
    HouseholdChange,
    MoveIn,
    MoveOut,
    ProtectionOrderIn,
    Relocation,
)
from kumomura.residents.params import MODULE

ui = APIRouter(prefix="/t/{lg_code}/residents", include_in_schema=False)
RECORD_NOTES = "residents.record_notes"
"""Extension point: plugins add lines under the person on the record page."""
PERSON_ROWS = 4
SEX = (("1", "男"), ("2", "女"))
PROTECTION_KINDS = (("support", "支援措置"), ("provisional", "仮支援措置 (決定まで)"))


SearchText = Annotated[str, Query(max_length=100)]
"""A search field: longer than any name, kana or address it could find."""


def _gate(principal: Principal, lg_code: str, permission: Permission) -> None:
    require_tenant(principal, lg_code, MODULE, permission)


@ui.get("", response_class=HTMLResponse)
def search_page(request: Request, lg_code: str, principal: PagePrincipal) -> HTMLResponse:
    _gate(principal, lg_code, Permission.VIEW)
    return render(request, "residents/search.html", lg_code=lg_code)


@ui.get("/results", response_class=HTMLResponse)
def results(request: Request, lg_code: str, db: DbDep, principal: PagePrincipal,
            kana: SearchText = "", name: SearchText = "", birth_date: SearchText = "",
            address: SearchText = "", include_removed: bool = False) -> HTMLResponse:
    """The result table (htmx swaps it in as the clerk types)."""
    _gate(principal, lg_code, Permission.VIEW)
    try:
        born = date.fromisoformat(birth_date) if birth_date else None
    except ValueError:
        return render(request, "residents/results.html", rows=None, lg_code=lg_code,
                      error="生年月日は YYYY-MM-DD で入力してください")
    criteria = service.SearchCriteria(
        kana=kana or None, name=name or None, address=address or None, birth_date=born,
        include_removed=include_removed, limit=50)
    if not criteria.given():
        return render(request, "residents/results.html", rows=None, lg_code=lg_code)
    try:
        with db.tenant_tx(lg_code) as conn:
            rows = service.search(conn, page_audit(request, principal, "窓口照会"), criteria)
    except KumomuraError as exc:
        return render(request, "residents/results.html", rows=None, lg_code=lg_code,
                      error=exc.message)
    return render(request, "residents/results.html", rows=rows, lg_code=lg_code)


@ui.get("/move-in", response_class=HTMLResponse)
def move_in_form(request: Request, lg_code: str, principal: PagePrincipal) -> HTMLResponse:
    _gate(principal, lg_code, Permission.EDIT)
    return _move_in_page(request, lg_code, {}, {})


def _move_in_page(request: Request, lg_code: str, values: dict[str, Any],
                  errors: dict[str, str], status: int = 200) -> HTMLResponse:
    return render(request, "residents/move_in.html", status_code=status, lg_code=lg_code,
                  v=values, errors=errors, rows=range(PERSON_ROWS), sexes=SEX,
                  relationships=[("", ""), *((r, r) for r in RELATIONSHIPS)])


def _move_in_request(form: dict[str, Any]) -> dict[str, Any]:
    persons = []
    for i in range(PERSON_ROWS):
        fields = ("name", "kana", "birth_date", "sex", "relationship")
        person = blank_to_none({f: form.get(f"persons.{i}.{f}", "") for f in fields})
        if any(person[f] for f in ("name", "kana", "birth_date")):  # a row left empty: nobody
            persons.append(person)
    address = blank_to_none({k: form.get(f"address.{k}", "")
                             for k in ("postal_code", "town", "line")})
    return blank_to_none({"moved_on": form.get("moved_on", ""),
                          "notified_on": form.get("notified_on", ""),
                          "previous_address": form.get("previous_address", "")}) | {
        "address": address, "persons": persons}


@ui.post("/move-in", response_model=None)
async def move_in(request: Request, lg_code: str, db: DbDep,
                  principal: PagePrincipal) -> Response:
    """転入届: refused fields come back beside their inputs; nothing is written then."""
    _gate(principal, lg_code, Permission.EDIT)
    form = await form_fields(request)
    try:
        req = MoveIn.model_validate(_move_in_request(form))
        with db.tenant_tx(lg_code) as conn:
            result = ch.move_in(conn, page_audit(request, principal, "転入届"), req)
    except (ValidationError, KumomuraError) as exc:
        return _move_in_page(request, lg_code, form, field_errors(exc), status=422)
    return _to_record(lg_code, result.atena_nos[0],
                      f"転入を登録しました ({len(result.atena_nos)}人)")


@ui.get("/{atena_no}", response_class=HTMLResponse)
def record_page(request: Request, lg_code: str, atena_no: str, db: DbDep,
                principal: PagePrincipal) -> HTMLResponse:
    _gate(principal, lg_code, Permission.VIEW)
    return _record(request, lg_code, atena_no, db, principal)


def _record(request: Request, lg_code: str, atena_no: str, db: DbDep,
            principal: Principal, *, message: str | None = None,
            protection: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
            order_errors: dict[int, str] | None = None, status: int = 200) -> HTMLResponse:
    """The record; the registry administrator also sees the protection orders and their
    forms (``protection`` and ``errors`` refill a refused new order, ``order_errors`` say
    why an order could not be extended or lifted)."""
    admin = principal.can(MODULE, Permission.ADMIN)
    with db.tenant_tx(lg_code) as conn:
        found = service.record(conn, page_audit(request, principal, "窓口照会"), atena_no)
        orders = service.protection_history(conn, atena_no) if admin else []
        notes = [line for note in installation.extensions(conn, RECORD_NOTES, date.today())
                 for line in note(conn, atena_no)]
    listed = {o["id"] for o in orders}
    unlisted = [m for i, m in (order_errors or {}).items() if i not in listed]
    errors = (errors or {}) | ({"_": unlisted[0]} if unlisted else {})
    return render(request, "residents/record.html", status_code=status, lg_code=lg_code,
                  r=found, message=message, can_admin=admin, orders=orders, notes=notes,
                  today=date.today(), pv=protection or {"starts_on": date.today().isoformat(),
                                                       "kind": "support"},
                  errors=errors or {}, order_errors=order_errors or {},
                  kinds=PROTECTION_KINDS,
                  can_edit=principal.can(MODULE, Permission.EDIT),
                  can_issue=principal.can(MODULE, Permission.ISSUE),
                  can_tax=principal.can("inhabitant_tax", Permission.VIEW),
                  can_seal=principal.can("seal_registration", Permission.VIEW),
                  can_collect=principal.can("collection", Permission.VIEW))


@ui.post("/{atena_no}/protection", response_model=None)
async def protection_add(request: Request, lg_code: str, atena_no: str, db: DbDep,
                         principal: PagePrincipal) -> Response:
    """支援措置の申出 (DV・ストーカー・児童虐待等の被害者): the registry administrator's."""
    _gate(principal, lg_code, Permission.ADMIN)
    values = await form_fields(request)
    try:
        req = ProtectionOrderIn.model_validate(blank_to_none(values) | {"atena_no": atena_no})
        with db.tenant_tx(lg_code) as conn:
            order = service.add_protection(conn, page_audit(request, principal, "支援措置"), req)
    except (ValidationError, KumomuraError) as exc:
        return _record(request, lg_code, atena_no, db, principal, protection=values,
                       errors=field_errors(exc), status=422)
    return _to_record(lg_code, atena_no,
                      f"支援措置を登録しました ({era_date(order['ends_on'])}まで)")


@ui.post("/{atena_no}/protection/{order_id}/{action}", response_model=None)
async def protection_change(request: Request, lg_code: str, atena_no: str, order_id: RowId,
                            action: str, db: DbDep, principal: PagePrincipal) -> Response:
    """延長 (from a month before the end) or 解除 of one of the person's orders."""
    _gate(principal, lg_code, Permission.ADMIN)
    form = await form_fields(request)
    ctx = page_audit(request, principal, "支援措置")
    try:
        with db.tenant_tx(lg_code) as conn:
            if order_id not in {o["id"] for o in service.protection_history(conn, atena_no)}:
                raise NotFound(f"支援措置 {order_id} はありません", field="order_id")
            if action == "extend":
                ends_on = service.extend_protection(conn, ctx, order_id)["ends_on"]
                done = f"延長しました ({era_date(ends_on)}まで)"
            elif action == "lift":
                on = date.fromisoformat(form.get("lifted_on") or date.today().isoformat())
                service.lift_protection(conn, ctx, order_id, on)
                done = "解除しました"
            else:
                raise NotFound(f"{action}: そのような操作はありません", field="action")
    except (ValueError, KumomuraError) as exc:
        return _record(request, lg_code, atena_no, db, principal,
                       order_errors={order_id: _message(exc)}, status=422)
    return _to_record(lg_code, atena_no, f"支援措置 {order_id} を{done}")


def _message(exc: Exception) -> str:
    return exc.message if isinstance(exc, KumomuraError) else "日付を正しく入力してください"


def _to_record(lg_code: str, atena_no: str, message: str) -> RedirectResponse:
    return redirect_with_notice(f"/t/{lg_code}/residents/{atena_no}", message)


CORRECTION_FIELDS = (("name", "氏名", "text"), ("kana", "フリガナ", "text"),
                     ("birth_date", "生年月日", "date"), ("sex", "性別", "sex"),
                     ("honseki", "本籍", "text"), ("hittousha", "筆頭者", "text"),
                     ("postal_code", "郵便番号", "text"), ("address_line", "方書", "text"),
                     ("resident_card_code", "住民票コード", "text"),
                     ("nationality", "国籍・地域", "text"),
                     ("residence_status", "在留資格", "text"),
                     ("residence_until", "在留期間の満了日", "date"))
"""What 職権修正 can change, as the form shows it (the model's CORRECTABLE)."""


def _shown(value: Any) -> str:
    return "" if value is None else value.isoformat() if isinstance(value, date) else str(value)


def _correction_page(request: Request, lg_code: str, person: dict[str, Any],
                     values: dict[str, Any], errors: dict[str, str],
                     status: int = 200) -> HTMLResponse:
    return render(request, "residents/correction.html", status_code=status, lg_code=lg_code,
                  person=person, v=values, errors=errors, fields=CORRECTION_FIELDS,
                  sexes=SEX)


@ui.get("/{atena_no}/correction", response_class=HTMLResponse)
def correction_form(request: Request, lg_code: str, atena_no: str, db: DbDep,
                    principal: PagePrincipal) -> HTMLResponse:
    """職権修正: the entry's values to edit in place (the registry administrator's)."""
    _gate(principal, lg_code, Permission.ADMIN)
    with db.tenant_tx(lg_code) as conn:
        person = service.record(conn, page_audit(request, principal, "職権修正"),
                                atena_no)["current"]
    values = {f: _shown(person.get(f)) for f, _, _ in CORRECTION_FIELDS}
    return _correction_page(request, lg_code, person, values | {
        "effective_on": date.today().isoformat()}, {})


@ui.post("/{atena_no}/correction", response_model=None)
async def correction(request: Request, lg_code: str, atena_no: str, db: DbDep,
                     principal: PagePrincipal) -> Response:
    """Only the fields whose value the administrator changed are corrected; emptying one
    clears it (the rules refuse clearing a required item)."""
    _gate(principal, lg_code, Permission.ADMIN)
    form = await form_fields(request)
    with db.tenant_tx(lg_code) as conn:
        person = service.current(conn, atena_no)
    # A field the form does not send is left as it is (only an emptied one is cleared).
    changed = {f: (form[f].strip() or None) for f, _, _ in CORRECTION_FIELDS
               if f in form and form[f].strip() != _shown(person.get(f))}
    try:
        req = Correction.model_validate({"atena_no": atena_no, **changed, **blank_to_none(
            {"effective_on": form.get("effective_on", ""), "reason": form.get("reason", "")})})
        with db.tenant_tx(lg_code) as conn:
            ch.correction(conn, page_audit(request, principal, "職権修正"), req)
    except (ValidationError, KumomuraError) as exc:
        return _correction_page(request, lg_code, person, form, field_errors(exc), status=422)
    return _to_record(lg_code, atena_no, f"職権修正を登録しました ({len(changed)}項目)")


@ui.get("/{atena_no}/cancel/{change_id}", response_class=HTMLResponse)
def cancellation_form(request: Request, lg_code: str, atena_no: str, change_id: RowId,
                      db: DbDep, principal: PagePrincipal) -> HTMLResponse:
    """異動の取消し: the change to undo, shown before the administrator confirms."""
    _gate(principal, lg_code, Permission.ADMIN)
    return _cancellation_page(request, lg_code, atena_no, change_id, db, principal, {}, {})


def _cancellation_page(request: Request, lg_code: str, atena_no: str, change_id: int,
                       db: DbDep, principal: Principal, values: dict[str, Any],
                       errors: dict[str, str], status: int = 200) -> HTMLResponse:
    with db.tenant_tx(lg_code) as conn:
        person = service.current(conn, atena_no)
        entry = service.change_of(conn, page_audit(request, principal, "異動の取消し"),
                                  atena_no, change_id)
    return render(request, "residents/cancellation.html", status_code=status,
                  lg_code=lg_code, person=person, change=entry, v=values, errors=errors,
                  kind=ch.NAMES.get(entry["change_type"], entry["change_type"]))


@ui.post("/{atena_no}/cancel/{change_id}", response_model=None)
async def cancellation(request: Request, lg_code: str, atena_no: str, change_id: RowId,
                       db: DbDep, principal: PagePrincipal) -> Response:
    _gate(principal, lg_code, Permission.ADMIN)
    form = await form_fields(request)
    ctx = page_audit(request, principal, "異動の取消し")
    try:
        req = Cancellation.model_validate({"change_id": change_id,
                                           "reason": form.get("reason", "").strip()})
        with db.tenant_tx(lg_code) as conn:
            service.change_of(conn, ctx, atena_no, change_id)
            ch.cancellation(conn, ctx, req)
    except (ValidationError, KumomuraError) as exc:
        return _cancellation_page(request, lg_code, atena_no, change_id, db, principal, form,
                                  field_errors(exc), status=422)
    return _to_record(lg_code, atena_no, f"異動 {change_id} を取り消しました")


CHANGES: dict[str, tuple[str, Any]] = {
    "move-out": ("転出届", MoveOut),
    "relocation": ("転居届", Relocation),
    "death": ("死亡", Death),
    "birth": ("出生届", Birth),
    "household": ("世帯変更届", HouseholdChange),
}


def _change_request(kind: str, person: dict[str, Any], form: dict[str, Any],
                    members: list[dict[str, Any]]) -> dict[str, Any]:
    """The change's request document from the form, for the person whose record it is."""
    values = blank_to_none(form)
    atena_no = person["atena_no"]
    if kind == "birth":
        return {"household_no": person["household_no"], "notified_on": values.get("notified_on"),
                "person": {k: values.get(f"person.{k}") for k in (
                    "name", "kana", "birth_date", "sex", "relationship")}}
    if kind == "household":
        return _household_request(person, values, members)
    if kind == "death":
        return {k: values.get(k) for k in ("died_on", "notified_on", "new_householder")} | {
            "atena_no": atena_no}
    base = {"atena_nos": [atena_no], "notified_on": values.get("notified_on"),
            "new_householder": values.get("new_householder")}
    if kind == "move-out":
        return base | {"planned_on": values.get("planned_on"),
                       "destination": values.get("destination")}
    return base | {"moved_on": values.get("moved_on"), "address": {
        "postal_code": values.get("address.postal_code"), "town": values.get("address.town"),
        "line": values.get("address.line")}}


def _household_request(person: dict[str, Any], values: dict[str, Any],
                       members: list[dict[str, Any]]) -> dict[str, Any]:
    """世帯分離 (this person into a new household), 世帯主変更 (this person becomes the
    householder; the former one takes the relationship given) or 世帯合併 (this household
    into another; its householder takes the relationship given)."""
    kind = values.get("kind") or "split"
    base = {"kind": kind, "effective_on": values.get("effective_on"),
            "notified_on": values.get("notified_on")}
    head = next((m["atena_no"] for m in members if m["relationship"] == HOUSEHOLDER), None)
    former = values.get("former_relationship")
    if kind == "split":
        return base | {"atena_nos": [person["atena_no"]],
                       "relationships": {person["atena_no"]: HOUSEHOLDER}}
    if kind == "new_householder":
        relationships = {person["atena_no"]: HOUSEHOLDER}
        if head and head != person["atena_no"] and former:
            relationships[head] = former
        return base | {"household_no": person["household_no"],
                       "new_householder": person["atena_no"], "relationships": relationships}
    return base | {"household_no": person["household_no"],
                   "into_household_no": values.get("into_household_no"),
                   "relationships": {head: former} if head and former else {}}


@ui.get("/{atena_no}/change/{kind}", response_class=HTMLResponse)
def change_form(request: Request, lg_code: str, atena_no: str, kind: str, db: DbDep,
                principal: PagePrincipal) -> HTMLResponse:
    _gate(principal, lg_code, Permission.EDIT)
    title, _ = _change_kind(kind)
    with db.tenant_tx(lg_code) as conn:
        person = service.viewed(conn, page_audit(request, principal, title), atena_no)
    return render(request, "residents/change.html", lg_code=lg_code, kind=kind, title=title,
                  person=person, v={}, errors={}, **_choices())


def _choices() -> dict[str, Any]:
    return {"sexes": SEX, "relationships": [("", ""), *((r, r) for r in RELATIONSHIPS)]}


def _change_kind(kind: str) -> tuple[str, Any]:
    if kind not in CHANGES:
        raise NotFound(f"{kind}: そのような異動はありません", field="kind")
    return CHANGES[kind]


@ui.post("/{atena_no}/change/{kind}", response_model=None)
async def change(request: Request, lg_code: str, atena_no: str, kind: str, db: DbDep,
                 principal: PagePrincipal) -> Response:
    _gate(principal, lg_code, Permission.EDIT)
    title, model = _change_kind(kind)
    form = await form_fields(request)
    office = office_of(db, lg_code)
    with db.tenant_tx(lg_code) as conn:
        person = service.current(conn, atena_no)
        members = service.living_members(conn, person["household_no"])
    try:
        req = model.model_validate(_change_request(kind, person, form, members))
        with db.tenant_tx(lg_code) as conn:
            ch.apply(conn, page_audit(request, principal, title), office, req)
    except (ValidationError, KumomuraError) as exc:
        return render(request, "residents/change.html", status_code=422, lg_code=lg_code,
                      kind=kind, title=title, person=person, v=form,
                      errors={k.replace("atena_nos.0", "atena_no"): m
                              for k, m in field_errors(exc).items()}, **_choices())
    return _to_record(lg_code, atena_no, f"{title}を登録しました")


@ui.get("/{atena_no}/certificate", response_class=HTMLResponse)
def certificate_form(request: Request, lg_code: str, atena_no: str, db: DbDep,
                     principal: PagePrincipal) -> HTMLResponse:
    _gate(principal, lg_code, Permission.ISSUE)
    with db.tenant_tx(lg_code) as conn:
        person = service.viewed(conn, page_audit(request, principal, "証明書の交付"), atena_no)
    return render(request, "residents/certificate.html", lg_code=lg_code, person=person,
                  v={"purpose": "", "applicant_kind": "self", "scope": "person"}, errors={})


@ui.post("/{atena_no}/certificate", response_model=None)
async def certificate(request: Request, lg_code: str, atena_no: str, db: DbDep,
                      principal: PagePrincipal) -> Response:
    """The certificate as a PDF, shown in the browser (the clerk previews, then prints)."""
    _gate(principal, lg_code, Permission.ISSUE)
    async with request.form() as form:
        values = text_fields(form)
        items = [str(i) for i in form.getlist("items")]
    with db.tenant_tx(lg_code) as conn:
        person = service.current(conn, atena_no)
    whole = values.get("scope") == "household"
    try:
        req = CertificateRequest.model_validate(blank_to_none({
            "kind": values.get("kind", "copy"),
            "applicant_kind": values.get("applicant_kind", "self"),
            "applicant_name": values.get("applicant_name", ""),
            "purpose": values.get("purpose", "")}) | {
            "atena_nos": [] if whole else [atena_no],
            "household_no": person["household_no"] if whole else None,
            "items": items})
        office = office_of(db, lg_code)
        with db.tenant_tx(lg_code) as conn:
            issued = certificates.issue(conn, page_audit(request, principal, req.purpose),
                                        office, req, may_override=False)
    except (ValidationError, KumomuraError) as exc:
        return render(request, "residents/certificate.html", status_code=422,
                      lg_code=lg_code, person=person, v=values, errors=field_errors(exc))
    return Response(issued.pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{issued.issue_no}.pdf"',
        "X-Issue-No": issued.issue_no, "X-Fee": str(issued.fee)})
