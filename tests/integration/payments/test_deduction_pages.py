"""The 代扣 pages and API: the paying office signs, finds and revokes withholding
authorisations (persons masked) and produces a bank's monthly deduction file; the bank
downloads only its own deduction files and uploads the results, after which the office sees
the counts and amounts deducted and failed to the fen. Another bank, a branch and a bank
clerk on the office pages get nothing (404 / 403)."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from shebao.accounts.choices import OrganisationKind, Role
from shebao.accounts.models import User
from shebao.payments.domain.bankfile import Outcome, ResultLine
from shebao.payments.models import DeductionFile, DeductionLine, WithholdingAuthorisation
from shebao.payments.services.withholding import deduction_results_file, withholding_authorise
from shebao.registry.models import Scheme
from tests.factories import make_org, make_person, make_user
from tests.integration.payments.bank_world import BankWorld, build_bank_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

API = "/api/v1/payments"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world() -> BankWorld:
    built = build_bank_world(people=3)
    Scheme.objects.get_or_create(
        code="170", defaults={"name": "城乡居民基本养老保险", "group": "pension"}
    )
    return built


def _sign(world: BankWorld, office: Client, n: int, account: str) -> None:
    response = office.post(
        "/payments/withholding/",
        {
            "action": "sign",
            "id_number": world.persons[n].id_number,
            "scheme": "170",
            "bank": str(world.bank_a.pk),
            "account_number": account,
            "valid_from": "2026-01-01",
        },
    )
    assert response.status_code == 302, response.content.decode()


def test_office_signs_revokes_and_lists_authorisations_masked(world: BankWorld) -> None:
    office = _client(world.maker)
    _sign(world, office, 0, "6228480000000001")
    _sign(world, office, 1, "6228480000000002")
    page = office.get("/payments/withholding/").content.decode()
    assert world.persons[0].id_number not in page and "6228480000000001" not in page
    assert world.persons[0].name not in page
    assert page.count('data-testid="revoke-') == 2

    found = office.get("/payments/withholding/", {"q": world.persons[1].id_number})
    assert found.content.decode().count('data-testid="revoke-') == 1

    bad = office.post(
        "/payments/withholding/",
        {
            "action": "sign",
            "id_number": world.persons[2].id_number,
            "scheme": "170",
            "bank": str(world.bank_a.pk),
            "account_number": "12AB",
            "valid_from": "2026-01-01",
        },
    )
    assert bad.status_code == 400 and "扣款账号应为 8 至 32 位数字" in bad.content.decode()
    # The clerk reads words, not the error's machine keys ("field account_number").
    assert "field account_number" not in bad.content.decode()
    unknown = office.post(
        "/payments/withholding/",
        {
            "action": "sign",
            "id_number": "110101199003077777",
            "scheme": "170",
            "bank": str(world.bank_a.pk),
            "account_number": "6228480000000003",
            "valid_from": "2026-01-01",
        },
    )
    text = unknown.content.decode()
    assert unknown.status_code == 400 and "未找到该公民身份号码的人员" in text
    assert "field id_number" not in text and "reason 未找到人员" not in text
    assert WithholdingAuthorisation.objects.count() == 2

    first = WithholdingAuthorisation.objects.get(person=world.persons[0])
    revoked = office.post(
        "/payments/withholding/", {"action": "revoke", "authorisation": str(first.pk)}
    )
    assert revoked.status_code == 302
    first.refresh_from_db()
    assert first.revoked_at is not None
    live = office.get("/payments/withholding/", {"live": "1"}).content.decode()
    assert live.count('data-testid="revoke-') == 1

    # The auditor reads the authorisations (masked) but can neither sign nor revoke.
    auditor = _client(make_user(Role.AUDITOR, make_org(OrganisationKind.BUREAU, "420700")))
    read = auditor.get("/payments/withholding/").content.decode()
    assert "签订授权" not in read and 'data-testid="revoke-' not in read
    assert world.persons[1].id_number not in read
    second = WithholdingAuthorisation.objects.get(person=world.persons[1])
    refused = auditor.post(
        "/payments/withholding/", {"action": "revoke", "authorisation": str(second.pk)}
    )
    assert refused.status_code == 403
    second.refresh_from_db()
    assert second.revoked_at is None


def test_deduction_file_round_trip_through_pages_and_api(world: BankWorld) -> None:
    for n, account in enumerate(["6228480000000001", "6228480000000002"]):
        withholding_authorise(
            actor=world.maker,
            person_id=world.persons[n].pk,
            scheme_code="170",
            bank_id=world.bank_a.pk,
            account_number=account,
            valid_from=date(2026, 1, 1),
        )
    office = _client(world.maker)
    produced = office.post(
        "/payments/deductions/",
        {"scheme": "170", "bank": str(world.bank_a.pk), "period": "2026-11", "amount": "200.05"},
    )
    assert produced.status_code == 302, produced.content.decode()
    record = DeductionFile.objects.get()
    assert (record.record_count, record.total_fen) == (2, 40_010)
    twice = office.post(
        "/payments/deductions/",
        {"scheme": "170", "bank": str(world.bank_a.pk), "period": "2026-11", "amount": "200.05"},
    )
    assert twice.status_code == 400 and "不能重复生成" in twice.content.decode()
    assert DeductionFile.objects.count() == 1

    bank, other, branch = (
        _client(world.bank_a_user),
        _client(world.bank_b_user),
        _client(world.branch_a1_user),
    )
    # Scope: another bank and the branch see nothing and get 404 on the file.
    assert record.code in bank.get("/payments/bank/deductions/").content.decode()
    assert record.code not in other.get("/payments/bank/deductions/").content.decode()
    assert other.get(f"/payments/bank/deductions/{record.code}/").status_code == 404
    assert other.get(f"{API}/deduction-files").json() == []
    assert other.get(f"{API}/deduction-files/{record.code}/file").status_code == 404
    assert branch.get(f"{API}/deduction-files/{record.code}/file").status_code == 404
    # A bank clerk cannot reach the office pages, nor the office the bank download.
    assert bank.get("/payments/withholding/").status_code == 403
    assert bank.get("/payments/deductions/").status_code == 403
    assert office.get(f"{API}/deduction-files/{record.code}/file").status_code == 403

    listed = bank.get(f"{API}/deduction-files").json()
    assert [(f["code"], f["total_fen"], f["status"]) for f in listed] == [
        (record.code, 40_010, "ready")
    ]
    page_download = bank.get(f"/payments/bank/deductions/{record.code}/")
    assert page_download.status_code == 200
    api_download = bank.get(f"{API}/deduction-files/{record.code}/file")
    assert api_download.status_code == 200 and api_download.content
    record.refresh_from_db()
    assert (record.status, record.download_count) == ("sent", 2)

    lines = list(DeductionLine.objects.select_related("person").order_by("pk"))
    sealed = deduction_results_file(
        record,
        [
            ResultLine(
                1,
                lines[0].reference,
                lines[0].person.id_number,
                lines[0].account_number,
                20_005,
                Outcome.SUCCEEDED,
                None,
                "",
            ),
            ResultLine(
                2,
                lines[1].reference,
                lines[1].person.id_number,
                lines[1].account_number,
                20_005,
                Outcome.FAILED,
                None,
                "余额不足",
            ),
        ],
    )
    refused = other.post(
        f"{API}/deduction-files/results", {"file": SimpleUploadedFile("r.sm4", sealed)}
    )
    assert refused.status_code == 404
    uploaded = bank.post(
        f"{API}/deduction-files/results", {"file": SimpleUploadedFile("r.sm4", sealed)}
    )
    assert uploaded.status_code == 200, uploaded.content
    assert uploaded.json() == {
        "file": record.code,
        "deducted": 1,
        "failed": 1,
        "already_imported": False,
    }
    again = bank.post("/payments/bank/deductions/", {"file": SimpleUploadedFile("r.sm4", sealed)})
    assert again.status_code == 302
    record.refresh_from_db()
    assert (record.status, record.deducted_fen, record.failed_fen) == ("answered", 20_005, 20_005)

    results = office.get("/payments/deductions/").content.decode()
    assert record.code in results and "400.10" in results and "200.05" in results
    assert bank.get("/payments/bank/").status_code == 200


def test_the_bank_page_refuses_a_missing_upload_and_the_api_is_in_openapi(
    world: BankWorld,
) -> None:
    bank = _client(world.bank_a_user)
    missing = bank.post("/payments/bank/deductions/", {})
    assert missing.status_code == 400 and "请选择代扣回盘文件" in missing.content.decode()
    paths = set(bank.get("/api/v1/openapi.json").json()["paths"])
    for path in ("/deduction-files", "/deduction-files/{code}/file", "/deduction-files/results"):
        assert f"{API}{path}" in paths


def test_authorisations_are_scoped_to_the_offices_region(world: BankWorld) -> None:
    """A district's office lists, signs and revokes only its own people's authorisations;
    another district's are not found (404 on revocation, "not found" when signing), the
    city's office sees both."""
    city = _client(world.maker)  # 鄂州市 (420700)
    _sign(world, city, 0, "6228480000000001")  # a person of 鄂城区
    lakes_office = make_org(OrganisationKind.PAYING_OFFICE, "420702", name="梁子湖区社保局")
    lakes = _client(make_user(Role.PAYING_OFFICE_CLERK, lakes_office))
    page = lakes.get("/payments/withholding/").content.decode()
    assert 'data-testid="revoke-' not in page
    searched = lakes.get("/payments/withholding/", {"q": world.persons[0].id_number})
    assert 'data-testid="revoke-' not in searched.content.decode()
    outside = WithholdingAuthorisation.objects.get(person=world.persons[0])
    refused = lakes.post(
        "/payments/withholding/", {"action": "revoke", "authorisation": str(outside.pk)}
    )
    assert refused.status_code == 404
    outside.refresh_from_db()
    assert outside.revoked_at is None
    signing = lakes.post(
        "/payments/withholding/",
        {
            "action": "sign",
            "id_number": world.persons[1].id_number,
            "scheme": "170",
            "bank": str(world.bank_a.pk),
            "account_number": "6228480000000002",
            "valid_from": "2026-01-01",
        },
    )
    assert signing.status_code == 400
    assert "未找到该公民身份号码的人员" in signing.content.decode()
    # One of its own people (太和村) it signs and lists; the city's office sees both.
    own = make_person("420702100201", name="孙丽")
    signed = lakes.post(
        "/payments/withholding/",
        {
            "action": "sign",
            "id_number": own.id_number,
            "scheme": "170",
            "bank": str(world.bank_a.pk),
            "account_number": "6228480000000003",
            "valid_from": "2026-01-01",
        },
    )
    assert signed.status_code == 302, signed.content.decode()[:2000]
    assert lakes.get("/payments/withholding/").content.decode().count('data-testid="revoke-') == 1
    assert city.get("/payments/withholding/").content.decode().count('data-testid="revoke-') == 2
    district = make_org(OrganisationKind.PAYING_OFFICE, "420704", name="鄂城区社保局")
    fenghuang = _client(make_user(Role.PAYING_OFFICE_CLERK, district))
    listed = fenghuang.get("/payments/withholding/").content.decode()
    assert listed.count('data-testid="revoke-') == 1
