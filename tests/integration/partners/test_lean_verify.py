"""The lean path of `POST /api/v1/partners/verify` (shebao.partners.lean, ADR 0016) answers
exactly as the full Django stack does: the same bytes, status, error codes and Chinese
messages, the same headers, the same audit row and change-feed record; what it does not take
goes on to Django unchanged.

Each case is asked twice, once through the served WSGI application (`shebao.wsgi`: the lean
layer in front of Django's handler) and once through Django's test client (the ninja route),
and the answers are compared. The last test does it over real HTTP against `shebao serve`."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client

from shebao.accounts.choices import AuditAction, Purpose
from shebao.accounts.models import AuditEvent
from shebao.partners.lean import VERIFY_PATH, LeanVerify
from shebao.partners.models import VerifiedPerson
from shebao.partners.services.identity import caller_cache_clear
from shebao.partners.services.registry import partner_set_rate_limit, partner_suspend
from tests.integration.partners.world import PartnerWorld, access_token, build_partner_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@contextmanager
def _test_connection_kept() -> Iterator[None]:
    """As Django's test client does: the test's transaction holds the connection, so the
    per-request "close old connections" receivers are off while the WSGI app is called."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


class Served:
    """The served application (lean layer + Django's handler), called as gunicorn does."""

    def __init__(self) -> None:
        self.app = LeanVerify(WSGIHandler())
        self.lean_answers = 0
        original = self.app._answer

        def counted(environ: dict[str, Any]) -> Any:
            answer = original(environ)
            if answer is not None:
                self.lean_answers += 1
            return answer

        self.app._answer = counted  # type: ignore[method-assign]

    def post(
        self,
        body: bytes,
        *,
        token: str | None,
        content_type: str = "application/json",
        remote: str = "10.1.2.3",
    ) -> tuple[int, dict[str, str], bytes]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": VERIFY_PATH,
            "SCRIPT_NAME": "",
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "testserver",
            "REMOTE_ADDR": remote,
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(),
            "wsgi.version": (1, 0),
            "wsgi.multithread": False,
            "wsgi.multiprocess": True,
            "wsgi.run_once": False,
        }
        if token is not None:
            environ["HTTP_AUTHORIZATION"] = f"Bearer {token}"
        seen: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
            seen["status"] = int(status.split(" ", 1)[0])
            seen["headers"] = dict(headers)

        with _test_connection_kept():
            chunks = self.app(environ, start_response)
            content = b"".join(chunks)
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return seen["status"], seen["headers"], content


def _django(client: Client, body: bytes, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post(VERIFY_PATH, body, content_type="application/json", headers=headers)


def _same_answer(
    served: Served, client: Client, token: str | None, ask: dict[str, Any] | bytes
) -> tuple[int, bytes]:
    """Ask both ways; the status, the bytes and the header names must be the same."""
    body = ask if isinstance(ask, bytes) else json.dumps(ask, ensure_ascii=False).encode()
    caller_cache_clear()
    status, headers, content = served.post(body, token=token)
    caller_cache_clear()
    full = _django(client, body, token)
    assert (status, content) == (full.status_code, full.content)
    assert set(headers) == set(full.headers)
    for name in ("Content-Type", "Cache-Control", "Content-Security-Policy", "X-Frame-Options"):
        assert headers[name] == full.headers[name], name
    return status, content


def _world() -> tuple[PartnerWorld, Client, str]:
    world = build_partner_world()
    client = Client()
    return world, client, access_token(client, world.hospital_terminal)


def test_answers_are_the_full_stacks_byte_for_byte() -> None:
    world, client, token = _world()
    served = Served()
    card, id_number = world.card.card_number, world.holder.id_number
    cases: list[tuple[dict[str, Any] | bytes, int, str]] = [
        ({"method": "card_number", "card_number": card, "name": "王小明"}, 200, ""),
        ({"method": "id_number", "id_number": id_number, "name": "王小明"}, 200, ""),
        ({"method": "id_number", "id_number": id_number, "name": "王大明"}, 200, ""),
        (
            {"method": "card_number", "card_number": "BAD", "name": "王小明"},
            422,
            "INVALID_CARD_NUMBER",
        ),
        ({"method": "id_number", "id_number": "123", "name": "王小明"}, 422, "INVALID_ID_NUMBER"),
        ({"method": "card_number", "name": "王小明"}, 422, "CARD_NUMBER_AND_NAME_REQUIRED"),
        ({"method": "business_token", "business_token": "nope"}, 0, ""),
        # Not taken by the lean path: Django answers, with ninja's validation message.
        ({"method": "face", "name": "王小明"}, 422, "VALIDATION_FAILED"),
        ({"method": "id_number", "id_number": 420704, "name": "王小明"}, 422, "VALIDATION_FAILED"),
        (b"{not json", 0, ""),
    ]
    for ask, status, code in cases:
        got, content = _same_answer(served, client, token, ask)
        if status:
            assert got == status, ask
        if code:
            assert json.loads(content)["error"]["code"] == code
    answer = json.loads(_same_answer(served, client, token, cases[0][0])[1])
    assert answer["verified"] is True and answer["message"] == "核验一致"
    assert answer["fields"] == {"masked_name": "王*明", "gender": "男", "card_status": "正常"}
    # The first seven went the lean way (twice the first); the last three were handed on.
    assert served.lean_answers == 8


def test_no_token_or_an_unknown_one_is_djangos_401() -> None:
    world, client, _ = _world()
    served = Served()
    ask = {"method": "card_number", "card_number": world.card.card_number, "name": "王小明"}
    for token in (None, "not-a-token"):
        status, content = _same_answer(served, client, token, ask)
        assert status == 401
        assert json.loads(content)["error"]["code"] == "UNAUTHENTICATED"
    assert served.lean_answers == 0


def test_every_lean_call_is_audited_with_partner_purpose_and_address() -> None:
    world, _, token = _world()
    served = Served()
    ask = {"method": "card_number", "card_number": world.card.card_number, "name": "王小明"}
    status, _, _ = served.post(json.dumps(ask).encode(), token=token, remote="10.9.8.7")
    assert status == 200 and served.lean_answers == 1
    event = AuditEvent.objects.get(action=AuditAction.IDENTITY_VERIFY)
    assert event.person_id == world.holder.pk
    assert event.purpose == Purpose.IDENTITY_VERIFICATION
    assert event.organisation_id == world.hospital.organisation_id
    assert event.channel == "api"
    assert str(event.ip_address) == "10.9.8.7"
    assert event.detail["terminal"] == "HOSP-001" and event.detail["verified"] is True
    # The change feed knows the partner verified this person.
    assert VerifiedPerson.objects.filter(partner=world.hospital, person=world.holder).exists()


def test_rate_limit_and_suspension_refused_on_the_lean_path() -> None:
    world, _, token = _world()
    served = Served()
    partner_set_rate_limit(actor=world.centre_user, partner_id=world.hospital.pk, per_minute=2)
    caller_cache_clear()
    ask = json.dumps({"method": "id_number", "id_number": world.holder.id_number, "name": "王小明"})
    answers = [served.post(ask.encode(), token=token) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, 429]
    refused = json.loads(answers[2][2])["error"]
    assert refused["code"] == "RATE_LIMITED" and "每分钟最多调用 2 次" in refused["message"]
    partner_suspend(actor=world.centre_user, partner_id=world.hospital.pk, reason="合同到期")
    caller_cache_clear()
    status, _, content = served.post(ask.encode(), token=token)
    assert status == 403
    assert json.loads(content)["error"]["code"] == "PARTNER_NOT_APPROVED"
    assert served.lean_answers == 4


@pytest.mark.django_db(transaction=True)
def test_over_real_http_against_shebao_serve(tmp_path: Path) -> None:
    """The served site (gunicorn, the lean layer in `shebao.wsgi`) answers verification as the
    ninja route does, audited; other API paths are still Django's."""
    from tests.integration.crash.harness import ROOT, START_TIMEOUT, crash_env

    with crash_env(tmp_path / "env", "lean") as env:
        world = build_partner_world()
        client = Client()
        token = access_token(client, world.hospital_terminal)
        ask = {"method": "card_number", "card_number": world.card.card_number, "name": "王小明"}
        expected = _django(client, json.dumps(ask).encode(), token)
        assert expected.status_code == 200
        audits = AuditEvent.objects.filter(action=AuditAction.IDENTITY_VERIFY).count()
        with socket_port() as port:
            server = subprocess.Popen(  # noqa: S603 - our own interpreter
                [sys.executable, "-m", "shebao", "serve", "--port", str(port), "--workers", "1"],
                cwd=ROOT,
                env=env.environ(),
                stdout=subprocess.DEVNULL,
                stderr=(env.directory / "serve.log").open("w"),
                start_new_session=True,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            _wait(base, server, START_TIMEOUT)

            def post(body: bytes, bearer: str | None) -> tuple[int, bytes]:
                headers = {"Content-Type": "application/json"}
                if bearer:
                    headers["Authorization"] = f"Bearer {bearer}"
                request = urllib.request.Request(  # noqa: S310 - loopback
                    f"{base}{VERIFY_PATH}", data=body, headers=headers
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as r:  # noqa: S310
                        return r.status, r.read()
                except urllib.error.HTTPError as e:
                    return e.code, e.read()

            status, content = post(json.dumps(ask).encode(), token)
            assert status == 200
            # The same answer; only person_ref differs, a keyed hash of the server's own key.
            served, full = json.loads(content), expected.json()
            assert len(served.pop("person_ref")) == 32 and full.pop("person_ref")
            assert served == full
            status, content = post(json.dumps(ask).encode(), None)
            assert status == 401
            assert json.loads(content)["error"]["code"] == "UNAUTHENTICATED"
            status, content = post(b'{"method": "face"}', token)
            assert status == 422
            assert json.loads(content)["error"]["code"] == "VALIDATION_FAILED"
            # The served call was audited like the test client's.
            assert (
                AuditEvent.objects.filter(action=AuditAction.IDENTITY_VERIFY).count() == audits + 1
            )
        finally:
            import os

            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


@contextmanager
def socket_port() -> Iterator[int]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    yield port


def _wait(base: str, server: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "shebao serve exited"
        try:
            urllib.request.urlopen(f"{base}/partners/directory/", timeout=5)  # noqa: S310
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("shebao serve did not answer")
