"""`kumomura ...`: the operator's and municipal IT's command line.

Commands are thin: they parse, call one service function, and print. An error the user
can fix (KumomuraError) prints its message naming the field and exits with code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kumomura import catalog
from kumomura.cli import backup as backup_cli
from kumomura.cli import degraded as degraded_cli
from kumomura.platform import audit, checkpoints, events, installation, params
from kumomura.platform.clikit import (
    Column,
    Format,
    FormatOpt,
    OnOpt,
    TenantOpt,
    console,
    err,
    print_rows,
)
from kumomura.platform.clikit import actor as _actor
from kumomura.platform.clikit import open_db as _db
from kumomura.platform.clikit import parse_date as _date
from kumomura.platform.clikit import progress as _progress
from kumomura.platform.core.businesses import BUSINESSES
from kumomura.platform.core.config import get_settings
from kumomura.platform.core.errors import InvalidInput, KumomuraError
from kumomura.platform.deployment import upgrade_platform, upgrade_tenants
from kumomura.platform.identity import auth as auth_service
from kumomura.platform.jobs import queue as jobs
from kumomura.platform.storage.db import Database
from kumomura.platform.tenancy import tenants as tenant_service
from kumomura.platform.tenancy.tenants import tenant_codes

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                  help="kumomura (雲村): the consortium's shared core systems.")
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
tenant_app = typer.Typer(no_args_is_help=True, help="Member municipalities (tenants).")
params_app = typer.Typer(no_args_is_help=True, help="Parameters: national defaults and overrides.")
audit_app = typer.Typer(no_args_is_help=True, help="The per-tenant audit log.")
events_app = typer.Typer(no_args_is_help=True, help="Linkage events (outbox).")
jobs_app = typer.Typer(no_args_is_help=True, help="Batch jobs.")
users_app = typer.Typer(no_args_is_help=True, help="Users, roles and API tokens.")
plugins_app = typer.Typer(no_args_is_help=True,
                          help="Plugins: customizations installed beside the standard package.")


@app.callback()
def _install() -> None:
    """Every command runs with the catalog's modules (and the installed plugins)."""
    catalog.install()


for sub, name in ((db_app, "db"), (tenant_app, "tenant"), (params_app, "params"),
                  (audit_app, "audit"), (events_app, "events"), (jobs_app, "jobs"),
                  (users_app, "users"), (plugins_app, "plugins")):
    app.add_typer(sub, name=name)

# -- db ------------------------------------------------------------------------------
@db_app.command("upgrade")
def db_upgrade(
    workers: Annotated[int | None, typer.Option(help="parallel tenant migrations")] = None,
) -> None:
    """Migrate the control plane and every tenant (idempotent)."""
    with _db() as db:
        upgrade_platform(db)
        codes = tenant_codes(db)
        failed = []
        with _progress() as progress:
            task = progress.add_task("tenant schemas", total=len(codes))

            def on_done(result: Any) -> None:
                progress.advance(task)
                if result.error:
                    failed.append(result)

            upgrade_tenants(db, codes, workers=workers or get_settings().migrate_workers,
                            on_done=on_done)
        for result in failed:
            err.print(f"[red]tenant {result.lg_code}: {result.error}[/red]")
        console.print(f"platform and {len(codes) - len(failed)}/{len(codes)} tenants at head")
        if failed:
            raise typer.Exit(1)


roles_app = typer.Typer(no_args_is_help=True, help="Each municipality's database role.")
db_app.add_typer(roles_app, name="roles")


@roles_app.command("check")
def db_roles_check(fmt: FormatOpt = Format.TABLE) -> None:
    """Compare every municipality's role with what it must be; exit 1 on any excess."""
    from kumomura.platform.storage import roles

    with _db() as db:
        codes = tenant_codes(db)
        found = roles.check(db, codes)
    print_rows([e.__dict__ for e in found], [
        Column("lg_code", "lg_code"), Column("role", "role"), Column("what", "may"),
        Column("on", "on")], fmt)
    if fmt is Format.TABLE:
        console.print(f"{len(codes)} roles checked, {len(found)} excess grants"
                      if db.is_postgres else "SQLite: one file per municipality, no roles")
    if found:
        raise typer.Exit(1)


# -- tenants -------------------------------------------------------------------------
@tenant_app.command("add")
def tenant_add(
    code: Annotated[str, typer.Option(help="6-digit local government code with check digit")],
    name: Annotated[str, typer.Option(help="e.g. 米沢市")],
    prefecture: Annotated[str, typer.Option(help="e.g. 山形県")],
    population: Annotated[int, typer.Option(help="resident population")],
) -> None:
    """Register a municipality and create its isolated storage."""
    with _db() as db:
        tenant = tenant_service.add_tenant(db, code=code, name=name, prefecture=prefecture,
                                           population=population, actor=_actor())
    console.print(f"tenant {tenant.lg_code} {tenant.name} added ({tenant.state})")


@tenant_app.command("list")
def tenant_list(fmt: FormatOpt = Format.TABLE) -> None:
    """Every member with its state and go-live dates."""
    with _db() as db:
        members = tenant_service.list_tenants(db)
    rows = [{"lg_code": t.lg_code, "name": t.name, "prefecture": t.prefecture,
             "population": t.population, "state": str(t.state),
             "go_live": ", ".join(f"{BUSINESSES[b]} {d.isoformat()}"
                                  for b, d in sorted(t.go_live.items()))} for t in members]
    print_rows(rows, [Column("lg_code", "lg_code"), Column("name", "name"),
                      Column("prefecture", "prefecture"),
                      Column("population", "population", yen=True), Column("state", "state"),
                      Column("go_live", "go-live")], fmt)


@tenant_app.command("show")
def tenant_show(code: Annotated[str, typer.Argument(help="lg_code")],
                fmt: FormatOpt = Format.TABLE) -> None:
    """One member: state, go-live per business, lifecycle history."""
    with _db() as db:
        t = tenant_service.get_tenant(db, code)
        history = tenant_service.state_history(db, code)
    rows = [{"business": b, "name": BUSINESSES[b], "go_live": d}
            for b, d in sorted(t.go_live.items(), key=lambda kv: kv[1])]
    if fmt is not Format.TABLE:
        print_rows(rows, [Column("business", "business"), Column("name", "業務"),
                          Column("go_live", "go-live")], fmt)
        return
    console.print(f"[bold]{t.lg_code} {t.prefecture}{t.name}[/bold]  population {t.population:,}"
                  f"  state {t.state}  schema {t.schema}  placement {t.placement}")
    print_rows(rows, [Column("business", "business"), Column("name", "業務"),
                      Column("go_live", "go-live")])
    for h in history:
        console.print(f"  {h['at']:%Y-%m-%d %H:%M} {h['from_state'] or '-'} -> {h['to_state']}"
                      f"  by {h['actor']}: {h['reason'] or ''}")


@tenant_app.command("state")
def tenant_state(
    code: Annotated[str, typer.Argument(help="lg_code")],
    to: Annotated[tenant_service.TenantState, typer.Argument(help="new state")],
    reason: Annotated[str, typer.Option(help="why (kept in the history)")],
) -> None:
    """Move a member through onboarding -> live <-> suspended -> left."""
    with _db() as db:
        t = tenant_service.set_state(db, code, to, actor=_actor(), reason=reason)
    console.print(f"tenant {t.lg_code} is now {t.state}")


@tenant_app.command("go-live")
def tenant_go_live(
    code: Annotated[str, typer.Argument(help="lg_code")],
    business: Annotated[str, typer.Argument(help=f"one of: {', '.join(BUSINESSES)}")],
    on: Annotated[str, typer.Argument(help="go-live date YYYY-MM-DD")],
) -> None:
    """Schedule the date a business starts for a member (staggered go-live)."""
    with _db() as db:
        t = tenant_service.set_go_live(db, code, business, _date(on, "go_live"))
    console.print(f"{t.name}: {BUSINESSES[business]} goes live {t.go_live[business]}")


# -- params --------------------------------------------------------------------------
def _fmt(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


@params_app.command("show")
def params_show(tenant: TenantOpt, module: Annotated[str, typer.Argument()],
                on: OnOpt = None, fmt: FormatOpt = Format.TABLE) -> None:
    """The values in force on a date, marking those that differ from the national default."""
    day = _date(on)
    with _db() as db:
        tenant_service.get_tenant(db, tenant)
        values = params.get(db, tenant, module, day).model_dump(mode="json")
        national = params.declaration(module).national_for(day).model_dump(mode="json")
    rows = [{"parameter": name, "value": _fmt(value), "national": _fmt(national[name]),
             "own": "独自" if value != national[name] else ""} for name, value in values.items()]
    print_rows(rows, [Column("parameter", "parameter"), Column("value", "value"),
                      Column("national", "national default"), Column("own", "")], fmt)


@params_app.command("set")
def params_set(
    tenant: TenantOpt,
    module: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Argument()],
    value: Annotated[str, typer.Argument(help="JSON literal or text; 'default' resets")],
    effective: Annotated[str, typer.Option("--from", help="effective date YYYY-MM-DD")],
    reason: Annotated[str | None, typer.Option(help="why (kept in the history)")] = None,
) -> None:
    """Override one parameter from an effective date."""
    day = _date(effective, "effective_from")
    with _db() as db:
        tenant_service.get_tenant(db, tenant)
        ctx = audit.AuditContext(actor=_actor(), purpose=reason)
        with db.tenant_tx(tenant) as conn:
            if value == "default":
                params.reset_value(conn, module, name, effective_from=day, ctx=ctx,
                                   reason=reason)
                stored: Any = "national default"
            else:
                stored = params.set_value(conn, module, name, value, effective_from=day,
                                          ctx=ctx, reason=reason)
    console.print(f"{tenant} {module}.{name} = {_fmt(stored)} from {day}")


@params_app.command("history")
def params_history(tenant: TenantOpt, module: Annotated[str, typer.Argument()],
                   name: Annotated[str | None, typer.Argument()] = None,
                   fmt: FormatOpt = Format.TABLE) -> None:
    """Every change, with who, when, from which date and why."""
    with _db() as db:
        tenant_service.get_tenant(db, tenant)
        changes = params.history(db, tenant, module, name)
    rows = [{"id": c.id, "parameter": c.name, "from": c.effective_from,
             "value": "(national default)" if c.is_reset else _fmt(c.value),
             "by": c.changed_by, "at": c.changed_at.replace(microsecond=0),
             "reason": c.reason or ""} for c in changes]
    print_rows(rows, [Column("id", "#"), Column("parameter", "parameter"),
                      Column("from", "from"), Column("value", "value"), Column("by", "by"),
                      Column("at", "at"), Column("reason", "reason")], fmt)


@params_app.command("diff")
def params_diff(
    on: OnOpt = None,
    module: Annotated[str | None, typer.Option(help="only this module")] = None,
    fmt: FormatOpt = Format.TABLE,
) -> None:
    """Per member, every value that departs from the national default."""
    day = _date(on)
    with _db() as db:
        members = tenant_service.list_tenants(db, include_left=False)
        names = {t.lg_code: t.name for t in members}
        found = params.diff(db, list(names), day, [module] if module else None)
    rows = [{"lg_code": d.lg_code, "member": names[d.lg_code],
             "parameter": f"{d.module}.{d.name}", "national": _fmt(d.national),
             "value": _fmt(d.value)} for d in found]
    print_rows(rows, [Column("lg_code", "lg_code"), Column("member", "member"),
                      Column("parameter", "parameter"), Column("national", "national"),
                      Column("value", "value")], fmt)
    if fmt is Format.TABLE:
        console.print(f"{len(rows)} departures from the national defaults on {day}")


# -- audit ---------------------------------------------------------------------------
@audit_app.command("verify")
def audit_verify(tenant: TenantOpt) -> None:
    """Check the hash chain, then against its latest signed checkpoint; name the first
    entry edited, deleted or reordered, a cut tail or a rebuilt chain."""
    with _db() as db:
        tenant_service.get_tenant(db, tenant)
        result = checkpoints.verify(db, tenant)
    if result.ok:
        console.print(f"audit log of {tenant}: {result.checked} entries, chain intact")
        return
    where = f"entry {result.first_bad_seq}: " if result.first_bad_seq is not None else ""
    err.print(f"[red]audit log of {tenant}: {where}{result.problem}[/red]")
    raise typer.Exit(1)


@audit_app.command("checkpoint")
def audit_checkpoint(tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None,
                     ) -> None:
    """Sign each municipality's chain tip (the worker does it every few minutes)."""
    with _db() as db:
        for code in [tenant] if tenant else tenant_codes(db):
            point = checkpoints.sign(db, code)
            console.print(f"{code}: entry {point.seq} signed at {point.at}")


@audit_app.command("tail")
def audit_tail(tenant: TenantOpt, limit: int = 20,
               atena_no: Annotated[str | None, typer.Option()] = None,
               fmt: FormatOpt = Format.TABLE) -> None:
    """The latest entries (optionally for one person)."""
    with _db() as db:
        tenant_service.get_tenant(db, tenant)
        rows = audit.entries(db, tenant, atena_no=atena_no, limit=limit)
    print_rows([{**r, "at": r["at"].replace(microsecond=0)} for r in rows],
               [Column("seq", "seq"), Column("at", "at"), Column("actor", "actor"),
                Column("action", "action"), Column("atena_no", "atena_no"),
                Column("purpose", "purpose")], fmt)


# -- events --------------------------------------------------------------------------
@events_app.command("dispatch")
def events_dispatch(tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None) -> None:
    """Deliver pending events to subscribing modules (one tenant, or all)."""
    with _db() as db:
        codes = [tenant] if tenant else tenant_codes(db)
        for code in codes:
            report = events.dispatch(db, code)
            console.print(f"{code}: delivered {report.delivered}, failed {report.failed}, "
                          f"dead {report.dead}")


@events_app.command("dead")
def events_dead(tenant: TenantOpt, fmt: FormatOpt = Format.TABLE) -> None:
    """Dead letters: events a subscriber could not handle after every retry."""
    with _db() as db:
        rows = events.dead_letters(db, tenant)
    print_rows([{**r, "error": r["last_error"].strip().splitlines()[-1]} for r in rows],
               [Column("event_id", "event"), Column("topic", "topic"),
                Column("subscriber", "subscriber"), Column("attempts", "attempts"),
                Column("error", "last error")], fmt)


@events_app.command("replay")
def events_replay(tenant: TenantOpt, subscriber: Annotated[str, typer.Argument()],
                  event_id: Annotated[int, typer.Argument()]) -> None:
    """Deliver one dead letter again."""
    with _db() as db:
        events.replay(db, tenant, subscriber, event_id)
    console.print(f"event {event_id} replayed to {subscriber}")


# -- jobs ----------------------------------------------------------------------------
@jobs_app.command("list")
def jobs_list(tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None,
              fmt: FormatOpt = Format.TABLE) -> None:
    """Recent jobs with their progress."""
    with _db() as db:
        found = jobs.list_jobs(db, lg_code=tenant)
    rows = [{"id": j.id, "tenant": j.lg_code, "kind": j.kind, "status": str(j.status),
             "done_chunks": j.done_chunks, "total_chunks": j.total_chunks,
             "progress": f"{j.done_chunks}/{j.total_chunks}", "by": j.created_by,
             "error": j.error} for j in found]
    columns = [Column("id", "id"), Column("tenant", "tenant"), Column("kind", "kind"),
               Column("status", "status"), Column("progress", "progress"),
               Column("by", "by"), Column("error", "error")]
    if fmt is not Format.TABLE:
        columns[4:5] = [Column("done_chunks", "done"), Column("total_chunks", "total")]
    print_rows(rows, columns, fmt)


@jobs_app.command("show")
def jobs_show(job_id: Annotated[int, typer.Argument()]) -> None:
    """One job and its log."""
    with _db() as db:
        j = jobs.get_job(db, job_id)
        lines = jobs.job_log_lines(db, job_id)
    console.print(f"[bold]job {j.id}[/bold] {j.kind} tenant {j.lg_code}: {j.status} "
                  f"{j.done_chunks}/{j.total_chunks}  params {_fmt(j.params)}")
    for line in lines:
        console.print(f"  {line['at']:%H:%M:%S} {line['level']:5} {line['message']}")


def _run_here(db: Database, job_id: int) -> None:
    job = jobs.get_job(db, job_id)
    with _progress() as progress:
        task = progress.add_task(f"job {job_id} {job.kind}", total=job.total_chunks,
                                 completed=job.done_chunks)
        jobs.run_in_process(db, job_id,
                            on_chunk=lambda done, total: progress.update(task, completed=done))


@jobs_app.command("run")
def jobs_run(
    tenant: TenantOpt,
    kind: Annotated[str, typer.Argument(help="job kind")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="key=value")] = None,
    here: Annotated[bool, typer.Option(help="run in this process, not on workers")] = False,
) -> None:
    """Start a job: on PostgreSQL workers pick it up, on SQLite it runs here."""
    values: dict[str, Any] = {}
    for item in param or []:
        key, sep, raw = item.partition("=")
        if not sep:
            raise InvalidInput(f"--param {item!r}: expected key=value", field="param")
        values[key] = params.parse_text_value(raw)
    with _db() as db:
        tenant_service.get_tenant(db, tenant)
        job_id = jobs.start_requested(db, tenant, kind, values, actor=_actor())
        if db.is_postgres and not here:
            from kumomura.platform.worker import defer_chunks

            defer_chunks(db, job_id, jobs.pending_chunks(db, job_id))
            console.print(f"job {job_id} queued for workers")
        else:
            _run_here(db, job_id)
            console.print(f"job {job_id}: {jobs.get_job(db, job_id).status}")


@jobs_app.command("resume")
def jobs_resume(
    job_id: Annotated[int, typer.Argument()],
    here: Annotated[bool, typer.Option(help="run in this process, not on workers")] = False,
) -> None:
    """Restart a failed or interrupted job: only its unfinished chunks run."""
    with _db() as db:
        todo = jobs.prepare_resume(db, job_id, actor=_actor())
        if db.is_postgres and not here:
            from kumomura.platform.worker import defer_chunks

            defer_chunks(db, job_id, todo)
            console.print(f"job {job_id}: {len(todo)} chunks queued for workers")
        else:
            _run_here(db, job_id)
            console.print(f"job {job_id}: {jobs.get_job(db, job_id).status}")


@app.command("worker")
def worker(
    concurrency: Annotated[int, typer.Option(help="chunks run at once in this process")] = 2,
) -> None:
    """Run chunks of queued jobs and dispatch events (PostgreSQL; start as many as needed)."""
    from kumomura.platform.worker import run_worker

    with _db(owner=False) as db:
        if not db.is_postgres:
            raise InvalidInput("worker: needs PostgreSQL (KUMOMURA_DATABASE_URL); on SQLite "
                               "jobs run in process", field="database_url")
        run_worker(db, concurrency=concurrency)


# -- users ---------------------------------------------------------------------------
@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument()],
    display_name: Annotated[str, typer.Option("--name")],
    role: Annotated[list[str], typer.Option("--role", help="role name (repeatable)")],
    tenant: Annotated[str | None, typer.Option("--tenant", "-t")] = None,
    scope: Annotated[auth_service.Scope, typer.Option()] = auth_service.Scope.TENANT,
    password: Annotated[str | None, typer.Option(help="default: prompt")] = None,
) -> None:
    """Create a user of a tenant, the consortium or the operator."""
    secret = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _db() as db:
        auth_service.create_user(db, username=username, password=secret,
                                 display_name=display_name, scope=scope, lg_code=tenant,
                                 role_names=role)
    console.print(f"user {username} created")


@users_app.command("roles")
def users_roles(fmt: FormatOpt = Format.TABLE) -> None:
    """The standard roles and what they grant."""
    rows = [{"role": name, "scope": str(scope), "description": description,
             "grants": ", ".join(f"{m}:{'+'.join(ps)}" for m, ps in grants.items())}
            for name, (scope, description, grants) in auth_service.BUILTIN_ROLES.items()]
    print_rows(rows, [Column("role", "role"), Column("scope", "scope"),
                      Column("grants", "grants"), Column("description", "description")], fmt)


@users_app.command("totp")
def users_totp(username: Annotated[str, typer.Argument()]) -> None:
    """Enrol a user's second factor here: scan the QR code shown, then type the code the
    app shows (the secret is kept only once that code is right)."""
    import segno

    from kumomura.platform.identity import second_factor

    secret = second_factor.new_secret()
    uri = second_factor.provisioning_uri(username, secret)
    segno.make(uri, error="m").terminal(compact=True)
    console.print(f"key: {secret}")
    code = typer.prompt("code shown by the app")
    with _db() as db:
        second_factor.enrol(db, username, secret, code)
    console.print(f"二要素認証を設定しました: {username}")


@users_app.command("token")
def users_token(
    username: Annotated[str, typer.Argument()],
    name: Annotated[str, typer.Option(help="what the token is for")],
    scope: Annotated[list[str] | None, typer.Option(
        "--scope", help="module:permission, e.g. residents:view (repeatable); default: "
        "what the user may do now")] = None,
    days: Annotated[int, typer.Option(min=1, max=365)] = 90,
    code: Annotated[str | None, typer.Option(
        help="the user's second-factor code, where the municipality requires one for "
        "personal data")] = None,
) -> None:
    """Issue an API token for another system (shown once)."""
    from kumomura.platform.identity import tokens

    with _db() as db:
        token = tokens.issue(db, username, name, days=days, totp_code=code,
                             scopes=None if not scope else tokens.parse_scopes(scope))
    console.print(token)


@users_app.command("tokens")
def users_tokens(tenant: Annotated[str, typer.Option("--tenant", "-t")],
                 fmt: FormatOpt = Format.TABLE) -> None:
    """The municipality's API tokens: whose, what for, scopes, expiry, revocation."""
    from kumomura.platform.identity import tokens

    with _db() as db:
        rows = [r | {"scopes": " ".join(r["scopes"] or [])}
                for r in tokens.of_municipality(db, tenant)]
    print_rows(rows, [Column("id", "id"), Column("username", "user"), Column("name", "name"),
                      Column("scopes", "scopes"), Column("expires_at", "expires"),
                      Column("revoked_at", "revoked")], fmt)


@users_app.command("oidc-clients")
def users_oidc_clients(tenant: Annotated[str, typer.Option("--tenant", "-t")],
                       fmt: FormatOpt = Format.TABLE) -> None:
    """The municipality's systems that sign its staff in through kumomura (OIDC), as
    its IT lead registered them on the 認証連携するシステム page."""
    from kumomura.platform.identity import oidc_clients

    with _db() as db:
        rows = [r | {"redirect_uris": " ".join(r["redirect_uris"]),
                     "kind": "public" if r["public"] else "confidential"}
                for r in oidc_clients.of_municipality(db, tenant)]
    print_rows(rows, [Column("client_id", "client_id"), Column("name", "name"),
                      Column("kind", "kind"), Column("redirect_uris", "redirect"),
                      Column("created_by", "by"), Column("revoked_at", "revoked")], fmt)


# -- plugins -------------------------------------------------------------------------
@plugins_app.command("list")
def plugins_list(on: OnOpt = None, fmt: FormatOpt = Format.TABLE) -> None:
    """Each installed plugin, its package and version, its options, and the members that
    have them on (on a date, default today)."""
    from importlib.metadata import PackageNotFoundError, packages_distributions, version

    day = _date(on)
    distributions = packages_distributions()
    rows = []
    with _db() as db:
        members = tenant_service.list_tenants(db, include_left=False)
        for plugin in catalog.plugins():
            top = plugin.package.split(".")[0]
            dist = (distributions.get(top) or [top])[0]
            try:
                release = version(dist)
            except PackageNotFoundError:
                release = ""
            enabled = []
            for member in members:
                with db.tenant_tx(member.lg_code) as conn:
                    if any(installation.option_on(conn, o.name, day) for o in plugin.options):
                        enabled.append(f"{member.lg_code} {member.name}")
            rows.append({"code": plugin.code, "name": plugin.name, "distribution": dist,
                         "version": release, "options": ", ".join(o.name for o in plugin.options),
                         "enabled_by": enabled if fmt is Format.JSON else ", ".join(enabled)})
    print_rows(rows, [Column("code", "code"), Column("name", "name"),
                      Column("distribution", "package"), Column("version", "version"),
                      Column("options", "options"), Column("enabled_by", "enabled by")], fmt)


# -- serving -------------------------------------------------------------------------
@app.command("serve")
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the HTTP API (and pages) on this machine."""
    import uvicorn

    from kumomura.web.app import create_app

    uvicorn.run(create_app(), host=host, port=port, log_level="info")


@app.command("demo")
def demo(
    port: int = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="set up only")] = False,
    scale: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="synthetic residents as a share of each population")] = 0.02,
) -> None:
    """Create the Okitama demo consortium on SQLite (unless configured otherwise) and serve."""
    from kumomura.demo import build_demo

    with _db() as db:
        logins = build_demo(db, progress=_progress(), scale=scale)
        from kumomura.platform.identity import tokens

        token = tokens.issue(db, "secretariat", "demo", days=1)
        clerk = tokens.issue(db, "clerk_062022", "demo", days=1,
                             scopes=tokens.parse_scopes(["residents:view"]))
        officer = tokens.issue(db, "tax_062022", "demo", days=1)
    console.print("\n[bold]demo logins[/bold] (password: [green]kumomura-demo[/green])")
    for line in logins:
        console.print(f"  {line}")
    console.print(f"\nsecretariat API token (valid 1 day): {token}\n  curl -H "
                  f"'Authorization: Bearer {token}' "
                  f"http://127.0.0.1:{port}/api/v1/consortium/params/diff")
    console.print(f"\n米沢市 counter clerk API token (valid 1 day): {clerk}\n  curl -G -H "
                  f"'Authorization: Bearer {clerk}' --data-urlencode kana=ヤマ "
                  f"http://127.0.0.1:{port}/api/v1/t/062022/residents")
    case = ('{"fiscal_year": 2026, "taxpayer": {"birth_date": "1980-04-01", '
            '"salary_revenue": 5000000, "pension_revenue": 0, "other_income": 0}, '
            '"deductions": {"social_insurance": 750000}}')
    console.print(f"\n米沢市 tax officer API token (valid 1 day): {officer}\n  curl -H "
                  f"'Authorization: Bearer {officer}' -H 'Content-Type: application/json' "
                  f"-d '{case}' http://127.0.0.1:{port}/api/v1/t/062022/inhabitant-tax/simulate",
                  soft_wrap=True)
    if not no_serve:
        console.print(f"\nserving on http://127.0.0.1:{port}/  (API docs: /docs)")
        serve(port=port)


layouts_app = typer.Typer(no_args_is_help=True, help="Standard layouts for import and export.")
app.add_typer(layouts_app, name="layouts")
app.add_typer(backup_cli.app, name="backup")
app.add_typer(degraded_cli.app, name="degraded")
backup_cli.app.command("municipal")(degraded_cli.package)


@layouts_app.command("list")
def layouts_list(fmt: FormatOpt = Format.TABLE) -> None:
    """Every layout: file, module, version, number of fields."""
    from kumomura.platform.exchange.layouts import all_layouts

    rows = [{"file": lay.file, "title": lay.title, "module": lay.module,
             "version": lay.version, "fields": len(lay.fields)} for lay in all_layouts()]
    print_rows(rows, [Column("file", "file"), Column("title", "title"),
                      Column("module", "module"), Column("version", "version"),
                      Column("fields", "fields")], fmt)


@layouts_app.command("doc")
def layouts_doc(out: Annotated[Path | None, typer.Option(
        help="write here (docs/layouts.md) instead of printing")] = None,
                plugins: Annotated[bool, typer.Option(help="the plugins' layouts too")]
                = False) -> None:
    """The layouts as Markdown, from their declarations (the standard package's; with
    --plugins, the installed plugins' too)."""
    from kumomura.platform.exchange.layout_doc import render

    text = render(None if plugins else installation.standard_layouts())
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"wrote {out}")


@app.command("export")
def export(tenant: TenantOpt, directory: Path) -> None:
    """Every table the tenant owns, in the standard layouts, with a manifest (exit)."""
    from kumomura.platform.clikit import audit_context
    from kumomura.platform.exchange.exports import export_tenant
    from kumomura.platform.exchange.layouts import all_layouts

    with _db() as db, _progress() as bar:
        task = bar.add_task(f"export {tenant}", total=len(all_layouts()))
        files = export_tenant(db, tenant, directory, ctx=audit_context("データ移出"),
                              progress=lambda _name: bar.advance(task))
    console.print(f"{len(files)} files, {sum(f.rows for f in files):,} rows → {directory}")


@app.command("import")
def import_(tenant: TenantOpt, directory: Path,
            dry_run: Annotated[bool, typer.Option("--dry-run", help="check and report only")]
            = False,
            encoding: Annotated[str | None, typer.Option(
                help="utf-8 or cp932; default: detected")] = None,
            quarantine: Annotated[bool, typer.Option(
                help="set bad rows aside and import the rest")] = False,
            report: Annotated[Path | None, typer.Option(
                help="where to write import_report.csv (default: the directory)")] = None,
            ) -> None:
    """Check the files in DIRECTORY and load them into the tenant, all or nothing."""
    from kumomura.platform.exchange.imports import REPORT, import_tenant

    with _db() as db:
        result = import_tenant(db, tenant, directory, dry_run=dry_run, encoding=encoding,
                               quarantine=quarantine, report_dir=report)
    console.print(result.summary())
    for p in result.problems[:20]:
        err.print(f"{p.file}:{p.line} {p.column}: {p.reason}")
    console.print(f"report: {(report or directory) / REPORT}")
    if not result.ok:
        raise SystemExit(2)


for _module in (*catalog.MODULES, *catalog.plugins()):
    if _module.cli is not None:
        app.add_typer(_module.cli, name=_module.cli_name)


def main() -> None:
    try:
        app()
    except KumomuraError as exc:
        if exc.field and not exc.message.startswith(exc.field) and len(exc.problems) <= 1:
            err.print(f"[red]error:[/red] {exc.field}: {exc.message}")
        else:
            err.print(f"[red]error:[/red] {exc.message}")
        sys.exit(2)


if __name__ == "__main__":
    main()
