"""(i) Notifications to local receivers: 10,000 SMS deliveries with 1 and 2 worker processes, each beside as many
outbound webhook deliveries to the same receiver, measured in the same run.

    ./scripts/bench.sh notifications                                        # SQLite
    HUHUA_BENCH_POSTGRES_URL=postgresql://… ./scripts/bench.sh notifications   # also on PostgreSQL

Two schools of 5,000 class teachers each get one administrator's notice by SMS (two ``SendNotice`` commands:
10,000 notifications, deliveries and ``notify_send`` jobs, not timed). ``huhua worker`` processes then send them
to an SMS gateway on 127.0.0.1 that checks every request's HMAC signature. The figure is deliveries per second
between the gateway's first and last request (so the workers' start-up is not counted). The reference is the
engine's own outbound webhooks: as many ``webhook`` jobs, delivered by the same number of workers to the same
receiver, the nearest thing the engine already did. SQLite has one writer, so the 2-worker figure is meant for
PostgreSQL.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from sqlalchemy import delete, func, insert, select

from engine import bench_results
from engine.bootstrap import Huhua, bootstrap
from engine.clock import BUSINESS_TZ, VirtualClock
from engine.commands import AddWebhook, LoadDirectory, SendNotice
from engine.commands.webhook_outbox import Subscription, webhook_jobs
from engine.config import PROJECT_ROOT, Settings
from engine.org.directory import Directory, Person, Role, Unit
from engine.store import tables

#: 10:00 on a working day: no quiet hours, no rest day.
NOW = datetime(2026, 10, 13, 10, 0, tzinfo=BUSINESS_TZ)
PER_SCHOOL, SCHOOLS = 5000, 2
KEY, SECRET = "bench-key", "bench-secret"


class _Gateway:
    """Counts requests and when the first and last came; checks SMS signatures as a gateway would."""

    def __init__(self) -> None:
        self.count, self.first, self.last, self.bad = 0, 0.0, 0.0, 0
        self.lock = threading.Lock()

    def seen(self, ok: bool) -> None:
        with self.lock:
            now = time.perf_counter()
            self.count += 1
            self.bad += not ok
            self.first = self.first or now
            self.last = now

    def reset(self) -> None:
        self.count, self.first, self.last, self.bad = 0, 0.0, 0.0, 0

    def rate(self) -> float:
        return (self.count - 1) / (self.last - self.first) if self.count > 1 else 0.0


@contextmanager
def _receiver(gateway: _Gateway) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            ok = True
            if self.path.startswith("/sms"):
                fields = dict(part.strip().split("=", 1) for part in
                              self.headers.get("Authorization", "").partition(" ")[2].split(",") if "=" in part)
                signed = "\n".join(["POST", "/sms", fields.get("timestamp", ""), fields.get("nonce", ""),
                                    hashlib.sha256(body).hexdigest()])
                ok = hmac.compare_digest(hmac.new(SECRET.encode(), signed.encode(), hashlib.sha256).hexdigest(),
                                         fields.get("signature", ""))
            gateway.seen(ok)
            answer = json.dumps({"code": "OK" if ok else "SignatureDoesNotMatch"}).encode()
            self.send_response(200 if ok else 403)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _worker(url: str, data_dir: Path, toml: Path, name: str) -> subprocess.Popen:
    env = {**os.environ, "HUHUA_DATABASE_URL": url, "HUHUA_DATA_DIR": str(data_dir), "HUHUA_NOTIFICATIONS": str(toml),
           "HUHUA_OUTBOUND_ALLOW": "127.0.0.1", "HUHUA_VIRTUAL_CLOCK": NOW.isoformat(), "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "worker", "--name", name, "--batch", "50",
                             "--poll", "0.05"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _drain(huhua: Huhua, url: str, data_dir: Path, toml: Path, workers: int, gateway: _Gateway, kind: str,
           count: int) -> float:
    """Run ``workers`` worker processes until ``count`` jobs of ``kind`` are done; deliveries per second."""
    gateway.reset()
    started = [_worker(url, data_dir, toml, f"bench-{kind}-{n}") for n in range(workers)]
    try:
        deadline = time.perf_counter() + 900
        while _done(huhua, kind) < count:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {_done(huhua, kind)} of {count} {kind} jobs done in 15 minutes")
            time.sleep(0.2)
    finally:
        for worker in started:
            worker.send_signal(signal.SIGTERM)
        for worker in started:
            worker.wait(60)
    if gateway.bad or gateway.count < count:
        raise RuntimeError(f"{kind}: the receiver took {gateway.count - gateway.bad} of {count}")
    return gateway.rate()


def _done(huhua: Huhua, kind: str) -> int:
    j = tables.job
    with huhua.services.database.engine.connect() as connection:
        return connection.execute(select(func.count()).where(j.c.kind == kind, j.c.state == "done")).scalar_one()


def _notices(huhua: Huhua) -> int:
    told = 0
    for school in range(1, SCHOOLS + 1):
        told += huhua.execute(SendNotice("admin", (f"class_teacher@s{school}",), "请于本周五前完成心理健康月总结",
                                         link="/inbox", channels=("sms",)))["notifications"]
    return told


def _webhooks(huhua: Huhua, subscription: int, count: int) -> None:
    events = [{"kind": "bench_event", "at": huhua.clock.now(), "instance_id": None, "element_id": None,
               "task_id": None, "actor": "bench", "detail": json.dumps({"n": n})} for n in range(count)]
    jobs = webhook_jobs([Subscription(subscription, frozenset({"bench_event"}))], events, huhua.clock.now())
    with huhua.services.database.engine.begin() as connection:
        connection.execute(insert(tables.job), jobs)


def _clear(huhua: Huhua) -> None:
    with huhua.services.database.engine.begin() as connection:
        for table in (tables.notification_delivery_item, tables.notification_delivery, tables.notification):
            connection.execute(delete(table))
        connection.execute(delete(tables.job))


def report_notifications(url: str, data_dir: Path, say: Callable[[str], None]) -> None:
    gateway = _Gateway()
    with _receiver(gateway) as receiver:
        toml = data_dir / "bench-notifications.toml"
        # workers run on the wall clock: without quiet hours and rest days, the bench runs the same at any hour
        toml.write_text('quiet_hours = ""\nhold_on_rest_days = false\n'
                        f'[sms]\nurl = "{receiver}/sms"\nkey = "{KEY}"\nsecret = "{SECRET}"\nper_minute = 0\n'
                        '[sms.templates]\ndefault = "SMS_BENCH"\n', encoding="utf-8")
        settings = Settings(database_url=url, data_dir=data_dir, processes_dir=PROJECT_ROOT / "processes",
                            node_name="bench", notifications_file=toml, outbound_allow=("127.0.0.1",))
        huhua = bootstrap(settings, clock=VirtualClock(NOW))
        try:
            schools = [f"s{n}" for n in range(1, SCHOOLS + 1)]
            people = [(f"{s}-t{n:04d}", s) for s in schools for n in range(PER_SCHOOL)]
            huhua.execute(LoadDirectory(Directory(
                units=[Unit("city", "市教育局", "city"), Unit("c1", "县教育局", "county", "city"),
                       *(Unit(s, f"学校{s}", "school", "c1") for s in schools)],
                people=[Person(p, f"教师{p}", s, f"139{index:08d}") for index, (p, s) in enumerate(people)],
                roles=[Role(p, s, "class_teacher") for p, s in people]), "bench", source="bench"))
            count = len(people)
            rates: dict[int, tuple[float, float]] = {}
            subscription = huhua.execute(AddWebhook(f"{receiver}/hooks", "admin", "bench_event", "s" * 32))["id"]
            for workers in (1, 2):
                _clear(huhua)
                say(f"(i) {count} notices by SMS; {workers} worker(s)")
                assert _notices(huhua) == count
                ours = _drain(huhua, url, data_dir, toml, workers, gateway, "notify_send", count)
                say(f"(i) {count} webhook deliveries; {workers} worker(s)")
                _clear(huhua)
                _webhooks(huhua, subscription, count)
                reference = _drain(huhua, url, data_dir, toml, workers, gateway, "webhook", count)
                rates[workers] = ours, reference
        finally:
            huhua.close()
    for workers, (ours, reference) in rates.items():
        print(f"(i) {count} SMS deliveries/s, {workers} worker(s)   huhua {ours:8.0f}   webhooks {reference:8.0f}"
              f"   ratio {ours / reference:5.2f}")
        bench_results.compare("h", f"通知推送（短信网关，{workers} 个 worker）", "条/s", ours, reference,
                              reference_name="同一接收端的 webhook 推送")
