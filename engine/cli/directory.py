"""Verbs on the org directory and log-in accounts: org load/export, users, accounts."""

from __future__ import annotations

from pathlib import Path

import click

from engine.bootstrap import Huhua
from engine.cli.base import (
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    Context,
    emit,
    guard,
    json_option,
    main,
)
from engine.errors import InvalidInput, Problem


@main.group("org")
def org_group() -> None:
    """The org directory: units, people and the roles they hold."""


@org_group.command("load")
@click.argument("sources", nargs=-1, required=True)
@click.option("--actor", default="admin", show_default=True)
@click.option("--if-empty", is_flag=True, help="Only when no directory is loaded yet (keeps an edited one).")
@json_option
@click.pass_obj
def org_load(obj: Context, sources: tuple[str, ...], actor: str, if_empty: bool, as_json: bool) -> None:
    """Load the directory: a profile (demo, full), a workbook (.xlsx: 单位 and 人员 sheets) or CSV files.

    Every bad row is reported (file, row, column, reason) and nothing changes unless all rows are good.
    A CSV file of units (or of people) replaces that part and keeps the other.
    """
    from engine.commands.requests import LoadDirectory
    from engine.org import spreadsheets
    from engine.org.profiles import PROFILES, generate

    source = " ".join(sources)

    def run() -> None:
        if if_empty and obj.huhua.queries.units(limit=1):
            emit(as_json, {"source": source, "skipped": "a directory is already loaded"},
                  lambda r: "a directory is already loaded; left as it is")
            return
        if len(sources) == 1 and sources[0] in PROFILES:
            directory = generate(sources[0])
        else:
            units = people = None
            for path in map(Path, sources):
                if not path.is_file() or path.suffix.lower() not in (".xlsx", ".csv"):
                    raise InvalidInput(f"'{path}' is neither a profile ({', '.join(PROFILES)}) nor an .xlsx or "
                                       ".csv file", [Problem("unknown source", file=str(path))])
                read = spreadsheets.read_workbook if path.suffix.lower() == ".xlsx" else spreadsheets.read_csv
                found_units, found_people = read(path.name, path.read_bytes())
                units, people = found_units or units, found_people or people
            directory = spreadsheets.build(units, people, obj.huhua.queries.directory())
        result = obj.huhua.execute(LoadDirectory(directory, actor, source=source))
        emit(as_json, result, lambda r: f"loaded {r['source']}: {r['units']} units, {r['people']} people, "
              f"{r['roles']} roles")

    guard(as_json, run)


@org_group.command("export")
@click.argument("target", type=click.Path(dir_okay=False))
@json_option
@click.pass_obj
def org_export(obj: Context, target: str, as_json: bool) -> None:
    """Write the directory as a workbook (.xlsx: 单位 and 人员 sheets), or as two CSV files (NAME-单位.csv and
    NAME-人员.csv for NAME.csv), that org load reads back."""
    from engine.org import spreadsheets

    def run() -> None:
        path = Path(target)
        if path.suffix.lower() not in (".xlsx", ".csv"):
            raise InvalidInput("give a file name ending in .xlsx (a workbook) or .csv (two CSV files)",
                               [Problem("neither .xlsx nor .csv", file=target)])
        directory = obj.huhua.queries.directory()
        if path.suffix.lower() == ".xlsx":
            path.write_bytes(spreadsheets.export_workbook(directory))
            written = [str(path)]
        else:
            units, people = spreadsheets.export_csv(directory)
            written = [str(path.with_name(f"{path.stem}-单位.csv")), str(path.with_name(f"{path.stem}-人员.csv"))]
            Path(written[0]).write_bytes(units)
            Path(written[1]).write_bytes(people)
        counts = {"files": written, "units": len(directory.units), "people": len(directory.people),
                  "roles": len(directory.roles)}
        emit(as_json, counts, lambda c: f"wrote {', '.join(c['files'])}: {c['units']} units, {c['people']} people")

    guard(as_json, run)


@main.command()
@click.option("--unit", help="Only people holding a role at this unit.")
@click.option("--under", help="Only people holding a role at this unit or below it.")
@click.option("--role", help="Only holders of this role (code or Chinese name).")
@click.option("--limit", default=100, show_default=True)
@json_option
@click.pass_obj
def users(obj: Context, unit: str | None, under: str | None, role: str | None, limit: int, as_json: bool) -> None:
    """List people of the org directory with their roles."""

    def run() -> None:
        rows = obj.huhua.queries.users(unit=unit, under=under, role=role, limit=limit)
        emit(as_json, rows, lambda rs: "\n".join(
            f"{p['id']:<24} {p['name']:<6} " + ", ".join(f"{r['role_name']}@{r['unit']}" for r in p["roles"])
            for p in rs) or "nobody")

    guard(as_json, run)


@main.group("accounts")
def accounts_group() -> None:
    """Log-in accounts (hashed passwords), service accounts and API tokens for programs."""


@accounts_group.command("password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True, help="The new password.")
@click.option("--admin", "is_admin", is_flag=True, help="May act on every task and administer the engine.")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def accounts_password(obj: Context, username: str, password: str, is_admin: bool, actor: str, as_json: bool) -> None:
    """Create USERNAME's account (a person of the directory, or admin) or set a new password."""
    from engine.commands import SetPassword

    guard(as_json, lambda: emit(as_json, obj.huhua.execute(SetPassword(username, password, actor, is_admin)),
                                  lambda r: f"password set for {r['username']}"))


@accounts_group.command("demo")
@click.option("--if-empty", is_flag=True, help="Only when no account exists yet.")
@json_option
@click.pass_obj
def accounts_demo(obj: Context, if_empty: bool, as_json: bool) -> None:
    """Give the administrator and one demo person per role an account with the demo password."""
    def run() -> None:
        if if_empty and obj.huhua.queries.account("admin") is not None:
            emit(as_json, {"skipped": "accounts exist"}, lambda r: "accounts exist; left as they are")
            return
        emit(as_json, {"accounts": make_demo_accounts(obj.huhua), "password": DEMO_PASSWORD},
              lambda r: f"{len(r['accounts'])} demo accounts, password {r['password']}")

    guard(as_json, run)


def make_demo_accounts(huhua: Huhua) -> list[str]:
    """Give the administrator and the demo people the directory holds an account with the demo password."""
    from engine.commands import SetPassword

    present = {p["id"] for p in huhua.queries.users(ids=list(DEMO_ACCOUNTS))}
    return [huhua.execute(SetPassword(name, DEMO_PASSWORD, "admin"))["username"]
            for name in ("admin", *DEMO_ACCOUNTS) if name == "admin" or name in present]


@accounts_group.command("service")
@click.argument("name")
@click.option("--messages", required=True, help="The messages it may deliver, comma-separated.")
@click.option("--scope", "scope_unit", help="Deliver only to instances at this unit or below it.")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def accounts_service(obj: Context, name: str, messages: str, scope_unit: str | None, actor: str,
                     as_json: bool) -> None:
    """Make (or change) service account NAME: a system that delivers MESSAGES, with API tokens only.

    It cannot log in to the pages; give it a token with `huhua accounts token NAME --name ...`.
    """
    from engine.commands import SetServiceAccount

    guard(as_json, lambda: emit(as_json, obj.huhua.execute(SetServiceAccount(name, (messages,), actor, scope_unit)),
                                  lambda r: f"service account {r['username']}: {', '.join(r['messages'])}"
                                            + (f" within {r['scope_unit']}" if r["scope_unit"] else "")))


@accounts_group.command("token")
@click.argument("username")
@click.option("--name", required=True, help="What the token is for (shown in lists, not the token itself).")
@click.option("--days", type=int, default=None,
              help="How many days it lasts (default HUHUA_TOKEN_DAYS, 90; at most HUHUA_TOKEN_MAX_DAYS, 365).")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def accounts_token(obj: Context, username: str, name: str, days: int | None, actor: str, as_json: bool) -> None:
    """Make an API token for a program acting as USERNAME; it is printed once and stored only hashed."""
    from engine.commands import CreateApiToken

    guard(as_json, lambda: emit(as_json, obj.huhua.execute(CreateApiToken(username, name, actor, days)),
                                  lambda r: f"token {r['id']} for {r['username']}, until {r['expires_at']}: "
                                            f"{r['token']}"))


@accounts_group.command("tokens")
@click.argument("username", required=False)
@json_option
@click.pass_obj
def accounts_tokens(obj: Context, username: str | None, as_json: bool) -> None:
    """List API tokens (USERNAME's, or everyone's), newest first: state, expiry, last use; never the token."""

    def run() -> None:
        huhua = obj.huhua
        rows = huhua.queries.accounts.api_tokens(huhua.clock.now(), username)
        emit(as_json, rows, lambda rs: "\n".join(
            f"{t['id']:>5} {t['username']:<20} {t['state']:<8} until {t['expires_at'][:16]}  "
            f"last used {(t['last_used_at'] or '-')[:16]:<16}  {t['name']}" for t in rs) or "no tokens")

    guard(as_json, run)


@accounts_group.command("revoke")
@click.argument("token_id", type=int)
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def accounts_revoke(obj: Context, token_id: int, actor: str, as_json: bool) -> None:
    """Revoke API token TOKEN_ID: it answers 401 from the next call on."""
    from engine.commands import RevokeApiToken

    guard(as_json, lambda: emit(as_json, obj.huhua.execute(RevokeApiToken(token_id, actor)),
                                  lambda r: f"token {r['id']} of {r['username']} revoked"))


def _set_active(obj: Context, username: str, active: bool, actor: str, as_json: bool) -> None:
    from engine.commands import SetAccountActive

    guard(as_json, lambda: emit(as_json, obj.huhua.execute(SetAccountActive(username, active, actor)),
                                  lambda r: f"{r['username']} is {'active' if r['active'] else 'deactivated'}"
                                            + (f"; {r['sessions_ended']} sessions ended" if not r["active"] else "")))


@accounts_group.command("deactivate")
@click.argument("username")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def accounts_deactivate(obj: Context, username: str, actor: str, as_json: bool) -> None:
    """Deactivate USERNAME's account: no log-in, its sessions end and its tokens stop at the next request."""
    _set_active(obj, username, False, actor, as_json)


@accounts_group.command("reactivate")
@click.argument("username")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def accounts_reactivate(obj: Context, username: str, actor: str, as_json: bool) -> None:
    """Make USERNAME's account active again (its unexpired, unrevoked tokens work again; it logs in anew)."""
    _set_active(obj, username, True, actor, as_json)


@accounts_group.command("unlock")
@click.argument("username")
@click.option("--actor", default="admin", show_default=True)
@json_option
@click.pass_obj
def accounts_unlock(obj: Context, username: str, actor: str, as_json: bool) -> None:
    """Lift the log-in lock that wrong passwords put on USERNAME (the address's own count stays)."""
    from engine.commands import UnlockLogIn

    guard(as_json, lambda: emit(as_json, obj.huhua.execute(UnlockLogIn(username, actor)),
                                  lambda r: f"log-in of {r['username']} unlocked"))
