from __future__ import annotations

from datetime import date

from django.http import HttpRequest
from ninja import Router, Schema

from shebao.accounts.choices import AuditAction, Purpose
from shebao.registry.selectors import person_detail

router = Router()


class EnrollmentOut(Schema):
    scheme_code: str
    scheme_name: str
    status: str
    insurance_region: str
    employer: str
    start_date: date
    end_date: date | None


class PersonOut(Schema):
    id_number: str
    name: str
    gender: str
    birth_date: date
    age: int
    hukou_region_code: str
    hukou_region: str
    hukou_type: str
    life_status: str
    status_date: date | None
    phone: str
    revealed: bool
    enrollments: list[EnrollmentOut]


class ErrorDetail(Schema):
    code: str
    message: str
    details: list[dict[str, object]]


class ErrorOut(Schema):
    error: ErrorDetail


@router.get(
    "/{id_number}",
    response={200: PersonOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="按身份证号码查询人员",
    description=(
        "在调用者管辖范围内按公民身份号码查询人员；默认脱敏。须说明用途 purpose（"
        + "、".join(f"{v}={label}" for v, label in Purpose.choices)
        + "），reveal=true 返回完整信息。每次查询均记入审计日志。"
    ),
)
def person_lookup(
    request: HttpRequest,
    id_number: str,
    purpose: str,
    purpose_note: str = "",
    reveal: bool = False,
) -> PersonOut:
    detail = person_detail(
        actor=request.user,  # type: ignore[arg-type]
        id_number=id_number,
        purpose=purpose,
        purpose_note=purpose_note,
        reveal=reveal,
        action=AuditAction.API_LOOKUP_PERSON,
    )
    return PersonOut(
        id_number=detail.id_number,
        name=detail.name,
        gender=detail.gender,
        birth_date=detail.birth_date,
        age=detail.age,
        hukou_region_code=detail.hukou_region_code,
        hukou_region=detail.hukou_region,
        hukou_type=detail.hukou_type,
        life_status=detail.life_status,
        status_date=detail.status_date,
        phone=detail.phone,
        revealed=detail.revealed,
        enrollments=[EnrollmentOut(**e.__dict__) for e in detail.enrollments],
    )
