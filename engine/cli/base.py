"""The ``huhua`` command group and what every verb shares: the engine context, --json, errors as exit code 2."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.bootstrap import Huhua, bootstrap
from engine.commands.deployment import model_files_in
from engine.config import Settings, load_settings
from engine.errors import HuhuaError, InvalidInput, Problem
from engine.store.readiness import database_unreachable, first_line

T = TypeVar("T")

BAD_INPUT = 2
#: Demo people, one per role and tier, given log-in accounts by ``huhua accounts demo`` and printed by serve.
DEMO_ACCOUNTS = ("hy-jz", "hy-zr", "zhuhui-jz", "zhuhui-zr", "zhuhui-s001-zr", "zhuhui-s001-xz", "zhuhui-s001-bzr1",
                 "zhuhui-s001-xl1", "zj01", "hy-jjjc")
#: The demo accounts' password (the demo profile is for trying the product, not for real people).
DEMO_PASSWORD = "Huhua@2026"


def settings_or_exit() -> Settings:
    """The settings from the environment; one that cannot be read ends the command saying which."""
    try:
        return load_settings()
    except ValueError as err:  # a HUHUA_* variable that cannot be read
        click.echo(f"error: configuration: {err}", err=True)
        sys.exit(BAD_INPUT)


class Context:
    def __init__(self) -> None:
        self._huhua: Huhua | None = None

    @property
    def huhua(self) -> Huhua:
        """The engine; a database that does not answer ends the command with one line saying so."""
        if self._huhua is None:
            settings = settings_or_exit()
            try:
                self._huhua = bootstrap(settings)
            except Exception as err:
                if not database_unreachable(err):
                    raise
                click.echo(f"error: the database {redact(settings.database_url)} cannot be reached: "
                           f"{first_line(err)}", err=True)
                sys.exit(BAD_INPUT)
        return self._huhua

    def once_reachable(self, start: Callable[[Huhua], T], stopping: threading.Event,
                       longest_wait: float = 30.0) -> T | None:
        """The engine built and ``start`` run on it, waiting while the database does not answer (a worker or the
        scheduler started before PostgreSQL, or during a restart): a line each try, not a traceback and an exit
        that a supervisor would turn into a restart loop. None when ``stopping`` is set meanwhile."""
        settings = settings_or_exit()
        wait = 1.0
        while not stopping.is_set():
            try:
                if self._huhua is None:
                    self._huhua = bootstrap(settings)
                return start(self._huhua)
            except Exception as err:
                if not database_unreachable(err):
                    raise
                click.echo(f"the database {redact(settings.database_url)} cannot be reached ({first_line(err)}); "
                           f"trying again in {wait:g} s", err=True)
            stopping.wait(wait)
            wait = min(wait * 2, longest_wait)
        return None

    def close(self) -> None:
        if self._huhua is not None:
            self._huhua.close()
            self._huhua = None


def emit(as_json: bool, data: Any, human: Callable[[Any], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(human(data))


def fail(err: HuhuaError, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(err.to_dict(), ensure_ascii=False, indent=2), err=True)
    else:
        click.echo(f"error: {err}", err=True)
    sys.exit(BAD_INPUT)


def guard(as_json: bool, action: Callable[[], None]) -> None:
    try:
        action()
    except HuhuaError as err:
        fail(err, as_json)


def json_object(text: str | None, option: str) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise InvalidInput(f"{option} is not valid JSON: {err.msg} at column {err.colno}",
                           [Problem(err.msg, field=option)]) from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{option} must be a JSON object", [Problem("expected an object", field=option)])
    return value


def model_files(paths: Iterable[str]) -> tuple[tuple[str, bytes], ...]:
    files: list[tuple[str, bytes]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files += model_files_in(path)
        elif path.is_file():
            files.append((path.name, path.read_bytes()))
        else:
            raise InvalidInput(f"{raw} does not exist", [Problem("no such file or directory", file=raw)])
    if not files:
        raise InvalidInput("no .bpmn or .dmn files were found in the given paths")
    return tuple(files)


json_option = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log what the engine does.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """心育护花 Huhua — BPMN workflow engine."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    ctx.obj = Context()
    ctx.call_on_close(ctx.obj.close)



def redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"
