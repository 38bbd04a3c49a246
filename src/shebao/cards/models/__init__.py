"""The cards app's models, one module per part of the chain (issue #4).

`card` holds the card itself and its history; `applications`, `production` and `banking` the
way in (申领, 制卡, 开户); `custody` the handovers down to the holder (交接, 签收).
"""

from shebao.cards.models.applications import (
    Application,
    ApplicationBatch,
    ApplicationBatchStatus,
    ApplicationChannel,
    ApplicationKind,
    ApplicationStatus,
)
from shebao.cards.models.banking import (
    AccountItemStatus,
    AccountOpeningItem,
    AccountOpeningRequest,
    AccountRequestStatus,
    CooperatingBank,
)
from shebao.cards.models.card import Card, CardHistory
from shebao.cards.models.custody import (
    CardIssuingPolicy,
    CardReissue,
    Handover,
    HandoverItem,
    Receipt,
    ReceiptLine,
)
from shebao.cards.models.home_service import HomeServiceAppointment
from shebao.cards.models.postal import PostalDispatch, PostalDispatchStatus
from shebao.cards.models.production import CardSeries, ProductionBatch, ProductionBatchStatus

__all__ = [
    "AccountItemStatus",
    "AccountOpeningItem",
    "AccountOpeningRequest",
    "AccountRequestStatus",
    "Application",
    "ApplicationBatch",
    "ApplicationBatchStatus",
    "ApplicationChannel",
    "ApplicationKind",
    "ApplicationStatus",
    "Card",
    "CardHistory",
    "CardIssuingPolicy",
    "CardReissue",
    "CardSeries",
    "CooperatingBank",
    "Handover",
    "HandoverItem",
    "HomeServiceAppointment",
    "PostalDispatch",
    "PostalDispatchStatus",
    "ProductionBatch",
    "ProductionBatchStatus",
    "Receipt",
    "ReceiptLine",
]
