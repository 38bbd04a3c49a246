"""The server killed mid-upload, and the database lost under a running job.

- `shebao serve` is killed (SIGKILL to its whole process group: the gunicorn master and its
  workers) while a department file is being uploaded through the API: nothing of the upload
  remains (no batch, no job, no stored file, no audit row), and the same upload to a new
  server is imported in full.
- The database goes away under a running import. A real restart of the shared PostgreSQL
  server is not tried here (other people use it); its effect on this job's connections is:
  `pg_terminate_backend` on every connection of the test's own database while the import
  holds its transaction open. The job and its import batch fail with a Chinese message (no
  driver text), the same worker carries on and imports the re-submitted file. On SQLite the
  equivalent is killing the process that holds the write transaction: the database is not
  locked afterwards and passes `PRAGMA integrity_check`.
"""

from __future__ import annotations

import random
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests.integration.crash.harness import ROOT, START_TIMEOUT, crash_env, kill_once, wait_job
from tests.integration.crash.operations import IMPORT_BAD, IMPORT_GOOD, OPERATIONS
from tests.integration.crash.pausing import MARKER

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_serving(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert server.poll() is None, "shebao serve exited"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
            return
        except urllib.error.HTTPError:  # any answer (a redirect to log in, a 404) will do
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError("shebao serve did not answer")


def _multipart(content: bytes, name: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


def _request(port: int, token: str, body: bytes, content_type: str) -> bytes:
    return (
        f"POST /api/v1/registration/imports HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()


def test_a_server_killed_mid_upload_keeps_nothing_of_it(tmp_path: Path) -> None:
    from shebao.accounts.services import api_token_create
    from shebao.intake.models import ImportBatch
    from shebao.jobs.models import Job
    from shebao.jobs.services import job_run_next

    with crash_env(tmp_path / "env", "upload") as env:
        state = OPERATIONS["import"].setup(env.directory)
        from shebao.accounts.models import AuditEvent, User

        clerk = User.objects.get(pk=state["clerk"])
        _, token = api_token_create(actor=clerk, owner=clerk, name="crash test")
        audits = AuditEvent.objects.count()
        content = Path(state["path"]).read_bytes()
        body, content_type = _multipart(content, "参保.csv")

        def serve() -> tuple[subprocess.Popen[bytes], int]:
            port = _free_port()
            server = subprocess.Popen(  # noqa: S603 - our own interpreter
                [sys.executable, "-m", "shebao", "serve", "--port", str(port)],
                cwd=ROOT,
                env=env.environ(),
                stdout=subprocess.DEVNULL,
                stderr=(env.directory / f"serve-{port}.log").open("w"),
                start_new_session=True,  # its own group: the kill takes the workers too
            )
            _wait_serving(port, server)
            return server, port

        server, port = serve()
        half = len(body) * random.Random(7).uniform(0.2, 0.8)
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(_request(port, token, body, content_type) + body[: int(half)])
            time.sleep(1.0)  # the worker is reading the body
            os_killpg(server)
        assert ImportBatch.objects.count() == 0
        assert Job.objects.count() == 0
        assert AuditEvent.objects.count() == audits + 0
        stored = env.data_dir / "intake" / "files"
        assert not stored.exists() or not any(p.is_file() for p in stored.rglob("*"))

        server, port = serve()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
                sock.sendall(_request(port, token, body, content_type) + body)
                answer = b""
                while chunk := sock.recv(65536):
                    answer += chunk
        finally:
            os_killpg(server)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
        job_run_next()
        (batch,) = ImportBatch.objects.all()
        assert (batch.status, batch.rows_accepted, batch.rows_rejected) == (
            "imported",
            IMPORT_GOOD,
            IMPORT_BAD,
        )


def os_killpg(server: subprocess.Popen[bytes]) -> None:
    import os

    os.killpg(server.pid, signal.SIGKILL)
    server.wait()


def test_the_database_lost_under_a_running_job_fails_it_clearly(tmp_path: Path) -> None:
    from shebao.intake.models import ImportBatch
    from shebao.jobs.choices import JobStatus
    from shebao.jobs.models import Job

    op = OPERATIONS["import"]
    with crash_env(tmp_path / "env", "dblost") as env:
        if env.vendor != "postgresql":
            # SQLite has no server to lose: the process holding the write transaction dies.
            outcome = kill_once(env, "import", random.Random(1), point="audit:1")
            assert outcome.hit and not outcome.problems_after_kill and not outcome.problems_final
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA integrity_check")
                assert cursor.fetchone()[0] == "ok"
            return
        state = op.setup(env.directory)
        job_id = op.start(state)
        worker = env.spawn(
            "worker", "--no-schedules", "--interval", "0.2", CRASH_POINT="audit:1", CRASH_PAUSE="4"
        )
        assert worker.wait_for(MARKER) is not None  # inside the import's transaction
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchone()[0] >= 1
        assert wait_job(job_id, {JobStatus.FAILED, JobStatus.SUCCEEDED}) == JobStatus.FAILED
        job = Job.objects.get(pk=job_id)
        assert "数据库连接中断" in job.error and "Error" not in job.error
        batch = ImportBatch.objects.get(pk=state["batches"][-1])
        assert batch.status == "failed" and "数据库连接中断" in batch.error_message
        assert not batch.is_current and batch.rows_accepted == 0
        # The same worker is still there and imports the file submitted again.
        again = op.resume(state)
        assert again is not None
        assert wait_job(again, {JobStatus.FAILED, JobStatus.SUCCEEDED}) == JobStatus.SUCCEEDED
        assert worker.process.poll() is None
        assert op.final(state) == []
