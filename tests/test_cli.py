"""The command line: what an operator types, and what comes back (text and exit code)."""

import sys

import pytest

from kumomura.cli import main
from kumomura.platform import audit, clikit
from kumomura.platform.storage.db import Database


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    old = sys.argv
    clikit.console.width = clikit.err.width = 200  # tables unwrapped, as on a wide terminal
    sys.argv = ["kumomura", *args]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = old
    out, err = capsys.readouterr()
    return code, out, err


def test_tenant_lifecycle_from_the_command_line(db: Database,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "tenant", "add", "--code", "062022", "--name", "米沢市",
                       "--prefecture", "山形県", "--population", "90990")
    assert code == 0
    assert "tenant 062022 米沢市 added (onboarding)" in out
    assert run(capsys, "tenant", "go-live", "062022", "residents", "2026-01-04")[0] == 0
    assert run(capsys, "tenant", "state", "062022", "live", "--reason", "本稼働")[0] == 0
    code, out, _ = run(capsys, "tenant", "show", "062022")
    assert "state live" in out
    assert "住民記録" in out
    assert "2026-01-04" in out
    assert "onboarding -> live" in out
    code, out, _ = run(capsys, "tenant", "list")
    assert "90,990" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--code", "062023"], "lg_code 062023: check digit is 3, expected 2"),
    (["--prefecture", "宮城県"], "prefecture 宮城県 does not match lg_code 062022"),
    (["--population", "-5"], "population -5: must be a positive number"),
])
def test_bad_tenant_input_exits_2_naming_the_field(
    db: Database, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    base = {"--code": "062022", "--name": "米沢市", "--prefecture": "山形県",
            "--population": "90990"}
    base[args[0]] = args[1]
    code, _, err = run(capsys, "tenant", "add", *[x for kv in base.items() for x in kv])
    assert code == 2
    assert message in " ".join(err.split())
    assert run(capsys, "tenant", "show", "062022")[0] == 2  # nothing was stored


def test_duplicate_tenant_exits_2(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["tenant", "add", "--code", "062022", "--name", "米沢市", "--prefecture", "山形県",
            "--population", "90990"]
    assert run(capsys, *args)[0] == 0
    code, _, err = run(capsys, *args)
    assert (code, "tenant 062022 already exists" in err) == (2, True)


def test_params_set_show_history_diff(db: Database, capsys: pytest.CaptureFixture[str]
                                      ) -> None:
    run(capsys, "tenant", "add", "--code", "062022", "--name", "米沢市", "--prefecture",
        "山形県", "--population", "90990")
    code, out, _ = run(capsys, "params", "set", "-t", "062022", "platform",
                       "idle_timeout_minutes", "15", "--from", "2025-04-01", "--reason", "方針")
    assert code == 0
    code, _, err = run(capsys, "params", "set", "-t", "062022", "platform",
                       "idle_timeout_minutes", "2", "--from", "2025-04-01")
    assert code == 2
    assert "idle_timeout_minutes" in err
    assert "5 以上にしてください" in err
    code, out, _ = run(capsys, "params", "show", "-t", "062022", "platform", "--on",
                       "2025-06-01")
    assert "15" in out
    assert "独自" in out
    code, out, _ = run(capsys, "params", "history", "-t", "062022", "platform")
    assert "方針" in out
    assert out.count("idle_timeout_minutes") == 1
    code, out, _ = run(capsys, "params", "diff", "--on", "2025-06-01")
    assert "1 departures" in out
    code, out, _ = run(capsys, "audit", "verify", "-t", "062022")
    assert (code, "1 entries, chain intact" in out) == (0, True)


def test_audit_verify_exits_nonzero_on_tampering(db: Database,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "tenant", "add", "--code", "062022", "--name", "米沢市", "--prefecture",
        "山形県", "--population", "90990")
    for minutes in ("15", "20"):
        run(capsys, "params", "set", "-t", "062022", "platform", "idle_timeout_minutes",
            minutes, "--from", "2025-04-01")
    audit.seal(db, "062022")
    with db.tenant_admin_tx("062022") as conn:
        conn.exec_driver_sql("UPDATE t_062022.audit_log SET actor = 'x' WHERE seq = 1")
    code, _, err = run(capsys, "audit", "verify", "-t", "062022")
    assert code == 1
    assert "entry 1" in err


def test_db_upgrade_is_idempotent(db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "tenant", "add", "--code", "062022", "--name", "米沢市", "--prefecture",
        "山形県", "--population", "90990")
    for _ in range(2):
        code, out, _ = run(capsys, "db", "upgrade", "--workers", "2")
        assert code == 0
        assert "platform and 1/1 tenants at head" in out


def test_users_totp_keeps_the_secret_only_with_the_right_code(
        db: Database, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    import pyotp
    import typer

    from kumomura.platform.identity import auth, second_factor

    auth.create_user(db, username="op", password="correct horse battery staple",
                     display_name="運用", scope=auth.Scope.OPERATOR, lg_code=None,
                     role_names=["operator"])
    secret = pyotp.random_base32()
    monkeypatch.setattr(second_factor, "new_secret", lambda: secret)
    monkeypatch.setattr(typer, "prompt", lambda *_a, **_k: "000000")
    code, _, err = run(capsys, "users", "totp", "op")
    assert code == 2
    assert "code" in err
    assert not second_factor.has_totp(db, "op")
    monkeypatch.setattr(typer, "prompt", lambda *_a, **_k: pyotp.TOTP(secret).now())
    code, out, _ = run(capsys, "users", "totp", "op")
    assert code == 0, out
    assert f"key: {secret}" in out
    assert second_factor.has_totp(db, "op")


def test_every_command_that_prints_a_table_offers_json_and_csv() -> None:
    import inspect
    from typing import Any

    import typer.main

    from kumomura.cli import app

    def commands(group: Any, prefix: str) -> list[tuple[str, Any]]:
        found = []
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                found += commands(command, f"{prefix}{name} ")
            else:
                found.append((prefix + name, command))
        return found

    printing = [(name, command) for name, command in commands(typer.main.get_group(app), "")
                if command.callback is not None
                and "print_rows(" in inspect.getsource(inspect.unwrap(command.callback))]
    assert len(printing) >= 15
    lacking = [name for name, command in printing
               if not any("--format" in p.opts for p in command.params)]
    assert lacking == []


def test_users_oidc_clients_lists_a_municipalitys_systems_and_no_secret(
        db: Database, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from kumomura.platform.identity import oidc_clients
    from tests.conftest import make_tenant

    make_tenant(db)
    client_id, secret = oidc_clients.register(db, "062022", "財務会計システム",
                                              ["https://rp.example.jp/cb"], by="it")
    code, out, _ = run(capsys, "users", "oidc-clients", "-t", "062022", "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert [(r["client_id"], r["kind"]) for r in rows] == [(client_id, "confidential")]
    assert secret is not None
    assert secret not in out
    assert "secret_hash" not in out
