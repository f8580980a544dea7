"""Test fixtures: every engine test runs against SQLite and against a real PostgreSQL server.

Each test gets a fresh database copied from a migrated template (a file copy for SQLite,
``CREATE DATABASE … TEMPLATE`` for PostgreSQL) and an engine on a virtual clock.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner, Result

from engine.bootstrap import Huhua, bootstrap
from engine.cli import main as cli_main
from engine.clock import VirtualClock
from engine.config import Settings, normalise_database_url
from engine.store import migration
from engine.store.database import Database
from tests import pg_server
from tests.helpers import load_demo

FIXTURES = Path(__file__).parent / "fixtures"
PROJECT = Path(__file__).resolve().parent.parent
START = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # 08:30 on a Monday in Shanghai
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_server.PostgresServer]:
    try:
        server = pg_server.start()
    except Exception as err:  # never skip silently: a run without PostgreSQL is a failed run
        pytest.fail(f"no PostgreSQL server for the tests: {err}", pytrace=False)
    yield server
    server.stop()


def _with_database(url: str, name: str) -> str:
    return url.rsplit("/", 1)[0] + "/" + name


class _PostgresCopies:
    """Test databases copied from a template a few steps ahead, and dropped behind, by threads of their own.

    ``CREATE DATABASE … TEMPLATE`` and ``DROP DATABASE`` each wait on the server's disk for up to a second on a busy
    machine; done while earlier tests run they no longer add to each test's time. Each copy is still made for one
    test alone and dropped after it."""

    AHEAD = 3  # copies kept ready per template: enough for a run of quick tests

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.ahead: dict[str, deque[Future[str]]] = {}
        self.threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="postgres-copies")

    def take(self, template: str) -> str:
        """A fresh copy of ``template`` for one test; copies to replace it are started at once."""
        ready = self.ahead.setdefault(template, deque())
        while len(ready) < self.AHEAD + 1:
            ready.append(self.threads.submit(self._create, template))
        return ready.popleft().result()

    def give_back(self, name: str) -> None:
        self.threads.submit(self._drop, name)

    def forget(self, template: str) -> None:
        """Drop the copies made ahead of ``template``, before the template itself goes."""
        for made in self.ahead.pop(template, ()):
            self._drop(made.result())

    def close(self) -> None:
        for template in list(self.ahead):
            self.forget(template)
        self.threads.shutdown(wait=True)

    def _create(self, template: str) -> str:
        name = f"huhua_t{os.getpid()}_{next(_counter)}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {template}")
        return name

    def _drop(self, name: str) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def postgres_copies(postgres: pg_server.PostgresServer) -> Iterator[_PostgresCopies]:
    copies = _PostgresCopies(postgres.admin_url)
    yield copies
    copies.close()


@pytest.fixture(scope="session")
def postgres_template(postgres: pg_server.PostgresServer, postgres_copies: _PostgresCopies) -> Iterator[str]:
    name = f"huhua_template_{os.getpid()}"  # test runs sharing one server must not share databases
    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    database = Database(normalise_database_url(_with_database(postgres.admin_url, name)))
    migration.upgrade(database)
    database.dispose()
    yield name
    postgres_copies.forget(name)
    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "huhua.db"
    database = Database(f"sqlite:///{path}")
    migration.upgrade(database)
    database.dispose()
    return path


def _load_demo_into(url: str, data_dir: Path) -> None:
    """The demo org and the shipped library, loaded once into a template database (see ``demo_template``)."""
    engine = bootstrap(Settings(database_url=url, data_dir=data_dir, processes_dir=PROJECT / "processes",
                                max_model_bytes=5 * 1024 * 1024, node_name="test", outbound_allow=("127.0.0.1",)),
                       clock=VirtualClock(START), upgrade=False)
    try:
        load_demo(engine)
    finally:
        engine.close()


@pytest.fixture(scope="session")
def sqlite_demo_template(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo_template")
    path = folder / "huhua.db"
    shutil.copy(sqlite_template, path)
    _load_demo_into(f"sqlite:///{path}", folder)
    return path


@pytest.fixture(scope="session")
def postgres_demo_template(postgres: pg_server.PostgresServer, postgres_template: str,
                           postgres_copies: _PostgresCopies, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    name = f"huhua_demo_template_{os.getpid()}"
    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {postgres_template}")
    _load_demo_into(normalise_database_url(_with_database(postgres.admin_url, name)),
                    tmp_path_factory.mktemp("demo_template"))
    yield name
    postgres_copies.forget(name)
    with psycopg.connect(postgres.admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def demo_template() -> None:
    """Asked for by a ``demo`` fixture: the test's database is then a copy of one where the demo org is loaded and
    the shipped library deployed, made once per run, instead of loading and deploying both in every test (the
    same commands, the same virtual clock; the library tests alone did it a hundred times)."""


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module's ``DATABASES`` narrows the databases its tests run on (its comment says why the others add
    nothing); a test's own ``parametrize("database_url", …)`` still wins. Added as the test's own mark, before
    pytest reads the marks, so that the fixture's two databases are not applied as well."""
    databases = getattr(metafunc.module, "DATABASES", None)
    own = any(mark.args and mark.args[0] == "database_url" for mark in metafunc.definition.iter_markers("parametrize"))
    if databases and "database_url" in metafunc.fixturenames and not own:
        metafunc.definition.add_marker(pytest.mark.parametrize("database_url", databases, indirect=True))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each kind (with the demo loaded when the test's fixtures ask for it)."""
    demo = "demo_template" in request.fixturenames
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_demo_template" if demo else "sqlite_template")
        path = tmp_path / "huhua.db"
        shutil.copy(template, path)
        yield f"sqlite:///{path}"
        return
    server: pg_server.PostgresServer = request.getfixturevalue("postgres")
    template_name: str = request.getfixturevalue("postgres_demo_template" if demo else "postgres_template")
    copies: _PostgresCopies = request.getfixturevalue("postgres_copies")
    name = copies.take(template_name)
    yield normalise_database_url(_with_database(server.admin_url, name))
    copies.give_back(name)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=database_url, data_dir=tmp_path, processes_dir=PROJECT / "processes",
                    max_model_bytes=5 * 1024 * 1024, node_name="test",
                    outbound_allow=("127.0.0.1",))  # the tests' receivers listen on this machine


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(START)


@pytest.fixture
def huhua(settings: Settings, clock: VirtualClock) -> Iterator[Huhua]:
    engine = bootstrap(settings, clock=clock, upgrade=False)
    yield engine
    engine.close()


@pytest.fixture
def demo(huhua: Huhua, demo_template: None) -> Huhua:
    """The engine with the demo org loaded and the shipped library deployed (a file may define its own)."""
    return huhua


@pytest.fixture
def cli(settings: Settings):  # type: ignore[no-untyped-def]
    """The `huhua` command line on the test database, as an administrator would type it."""
    runner = CliRunner()
    env = {"HUHUA_DATABASE_URL": settings.database_url, "HUHUA_DATA_DIR": str(settings.data_dir),
           "HUHUA_OUTBOUND_ALLOW": ",".join(settings.outbound_allow)}

    def run(*args: str) -> Result:
        return runner.invoke(cli_main, list(args), env=env, catch_exceptions=False)

    return run


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()
