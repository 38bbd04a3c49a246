"""How an audit row reads to an auditor: Chinese names for what was touched, the object's own
name, the person masked, and the detail as labelled Chinese fields (never raw JSON, never a
full ID or phone number).

Used by the audit list page and its CSV export, so both say the same thing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from django.apps import apps
from django.db import models
from django.utils import timezone

from shebao.accounts.choices import AuditAction, Purpose, Role
from shebao.accounts.models import AuditEvent
from shebao.accounts.redaction import redact
from shebao.cards.models.applications import ApplicationChannel, ApplicationStatus
from shebao.cards.selectors.person import CHANNEL_LABELS
from shebao.identity.masking import mask_id_number, mask_name
from shebao.registry.models import Person

# Audit target types that are not a model's name (or need a clearer one).
TARGET_LABELS: Final[dict[str, str]] = {
    "person": "人员",
    "card": "社会保障卡",
    "card_application": "社保卡申领",
    "application_batch": "申领批次",
    "card_self_service": "群众自助服务",
    "card_pickup_lookup": "领卡查询",
    "card_recall": "卡片回收",
    "card_reissue": "补换领",
    "card_subsidy": "工作经费统计",
    "handover": "交接单",
    "receipt": "领卡签收表",
    "production_batch": "制卡批次",
    "account_opening_request": "开户请求",
    "postal_dispatch": "社保卡邮寄",
    "postal_mailing_list": "邮寄清单",
    "postal_addresses": "邮寄地址",
    "import_batch": "导入批次",
    "import_rejected": "导入拒收行",
    "finding": "比对问题",
    "findings": "比对问题清单",
    "comparison_run": "比对",
    "confirmed_match": "确认的疑似匹配",
    "coverage": "参保覆盖率",
    "survey_roster": "入户调查花名册",
    "survey_record": "入户调查记录",
    "enrollment": "参保记录",
    "registry": "人员库",
    "organisation": "机构",
    "user": "用户",
    "api_token": "接口令牌",
    "sms_code": "短信验证码",
    "audit_event": "审计日志",
}

# Keys of the detail dictionaries the services write.
DETAIL_LABELS: Final[dict[str, str]] = {
    "account": "账户",
    "action": "操作",
    "as": "身份",
    "batch": "批次",
    "by": "办理方",
    "card": "卡号",
    "cards": "卡片数",
    "category": "类别",
    "channel": "渠道",
    "client": "客户端地址",
    "code": "编号",
    "confirmed_links": "确认关联数",
    "count": "数量",
    "counts": "数量",
    "date_from": "开始日期",
    "date_to": "结束日期",
    "deaths_recorded": "登记死亡数",
    "delivered": "已投递",
    "event": "事件",
    "failed": "失败数",
    "fee": "工本费（元）",
    "fields": "字段",
    "filters": "筛选条件",
    "finding": "比对问题",
    "findings": "比对问题数",
    "format": "格式",
    "found": "找到",
    "from": "发出方",
    "households": "户数",
    "items": "条数",
    "kind": "类型",
    "lines": "行数",
    "locked": "已锁定",
    "made": "制卡成功数",
    "masked": "脱敏",
    "opened": "开户成功数",
    "outcome": "结果",
    "page": "页码",
    "person_id": "涉及人员",
    "points": "事项",
    "purpose": "用途",
    "query": "查询条件",
    "reason": "原因",
    "reasons": "原因",
    "records": "记录数",
    "reissue": "补换领",
    "remake_of": "重新制卡自",
    "replaces": "替换",
    "resolution": "处理结果",
    "result": "结果",
    "resubmitted": "重新提交",
    "returned": "退回",
    "revoked": "已吊销",
    "roles": "角色",
    "row": "行号",
    "rows": "行数",
    "source": "来源",
    "status": "状态",
    "stored": "已保存",
    "to": "接收方",
    "to_org": "接收单位",
    "tracking_number": "邮件号",
    "unchanged": "未变化",
    "until": "截止时间",
    "username": "用户名",
    "verified_by": "核验方式",
    "via": "方式",
}

_CHANNELS: Final[dict[str, str]] = {"web": "网页", "api": "接口", "cli": "命令行"}


def target_label(target_type: str) -> str:
    """'person' → '人员', 'reports.Bulletin' → '进度通报': a Chinese name for the kind of
    object, from the table above or the model's verbose name."""
    if target_type in TARGET_LABELS:
        return TARGET_LABELS[target_type]
    model = _model_of(target_type)
    return str(model._meta.verbose_name) if model is not None else target_type


def _model_of(target_type: str) -> type[models.Model] | None:
    if "." in target_type:
        app_label, _, name = target_type.partition(".")
        try:
            return apps.get_model(app_label, name)
        except (LookupError, ValueError):
            return None
    name = target_type.replace("_", "").lower()
    for model in apps.get_models():
        if model._meta.model_name == name:
            return model
    return None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if value is None or value == "":
        return "—"
    if isinstance(value, Mapping):
        return "；".join(f"{label}：{text}" for label, text in detail_fields(value)) or "—"
    if isinstance(value, list | tuple):
        return "、".join(_text(v) for v in value) or "—"
    text = str(value)
    if isinstance(value, str) and len(text) >= 19 and text[4:5] == "-" and text[10:11] == "T":
        try:
            return f"{timezone.localtime(datetime.fromisoformat(text)):%Y-%m-%d %H:%M}"
        except ValueError:
            pass
    return redact(text)


def _value_label(key: str, value: Any) -> Any:
    if key == "action" and value in AuditAction.values:
        return AuditAction(value).label
    if key == "purpose" and value in Purpose.values:
        return Purpose(value).label
    if key == "channel" and isinstance(value, str):
        # The request's channel (web, api, cli), an application's (collective, counter…)
        # or a card event's (vendor, post…): whichever names it, in Chinese.
        if value in _CHANNELS:
            return _CHANNELS[value]
        if value in ApplicationChannel.values:
            return ApplicationChannel(value).label
        return CHANNEL_LABELS.get(value, value)
    if key == "status" and isinstance(value, str) and value in ApplicationStatus.values:
        return ApplicationStatus(value).label
    if key == "roles" and isinstance(value, list):
        return [Role(v).label if v in Role.values else v for v in value]
    return value


def detail_fields(detail: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """An audit detail as (Chinese label, text) pairs; ID and phone numbers masked."""
    if not detail:
        return []
    return [
        (DETAIL_LABELS.get(key, key), _text(_value_label(key, value)))
        for key, value in sorted(detail.items())
    ]


def detail_line(detail: Mapping[str, Any] | None) -> str:
    return "；".join(f"{label}：{text}" for label, text in detail_fields(detail))


@dataclass(frozen=True)
class EventView:
    """One audit row as the list shows it."""

    event: AuditEvent
    target: str  # "进度通报 · 2026年11月鄂州市进度通报" or "—"
    person: str  # "李*国（420704********1236）" or ""
    details: list[tuple[str, str]]


def _person_labels(person_ids: set[int]) -> dict[int, str]:
    people = Person.objects.filter(pk__in=person_ids).only("pk", "name", "id_number")
    return {p.pk: f"{mask_name(p.name)}（{mask_id_number(p.id_number)}）" for p in people}


def _object_names(events: Sequence[AuditEvent]) -> dict[tuple[str, str], str]:
    """The objects' own names (their __str__, numbers masked), looked up once per type."""
    wanted: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.target_type and e.target_id and e.target_type != "person":
            wanted[e.target_type].add(e.target_id)
    names: dict[tuple[str, str], str] = {}
    for target_type, ids in wanted.items():
        model = _model_of(target_type)
        if model is None:
            continue
        numeric = [int(i) for i in ids if i.isdigit()]
        if not numeric:
            continue
        for pk, obj in model._default_manager.in_bulk(numeric).items():
            names[(target_type, str(pk))] = redact(str(obj))
    return names


def _target_text(e: AuditEvent, people: dict[int, str], names: dict[tuple[str, str], str]) -> str:
    if not e.target_type:
        return "—"
    label = target_label(e.target_type)
    if e.target_type == "person" and e.target_id == str(e.person_id or ""):
        return label  # the person column names them
    if e.target_type == "person" and e.target_id.isdigit():
        pk = int(e.target_id)
        name = people.get(pk) or _person_labels({pk}).get(pk)
    else:
        name = names.get((e.target_type, e.target_id))
    if name:
        return f"{label} · {name}"
    return f"{label}（编号 {redact(e.target_id)}）" if e.target_id else label


def event_views(events: Iterable[AuditEvent]) -> list[EventView]:
    rows = list(events)
    people = _person_labels({e.person_id for e in rows if e.person_id})
    names = _object_names(rows)
    return [
        EventView(
            event=e,
            target=_target_text(e, people, names),
            person=(
                people.get(e.person_id, f"人员（编号 {e.person_id}，已不在人员库）")
                if e.person_id
                else ""
            ),
            details=detail_fields(e.detail),
        )
        for e in rows
    ]
