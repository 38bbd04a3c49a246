"""The pure core of card issuance (社保卡发行): card numbers and identification codes, the
card's life cycle, eligibility rules per issuing programme, the photo check, and the file
check behind `shebao cards check-applications`. No Django here (import-linter checks it).
"""

from shebao.cards.domain.codes import (
    CardNumberAllocator,
    CardNumberSeries,
    card_id_code,
    card_number_check_char,
    card_number_of,
    validate_card_id_code,
    validate_card_number,
)
from shebao.cards.domain.eligibility import (
    Application,
    Failure,
    HukouAgeLimit,
    NonHukouEnterpriseEmployeesExcluded,
    NonHukouMustBeInsured,
    PersonFacts,
    Programme,
    Reason,
    check_application,
)
from shebao.cards.domain.lifecycle import (
    CardEvent,
    CardPolicy,
    CardStatus,
    CardTransitionError,
    FeeSchedule,
    transition,
)
from shebao.cards.domain.photos import PhotoSpec, PhotoVerdict, check_photo_bytes
from shebao.cards.domain.programmes import PROGRAMMES, load_programme

__all__ = [
    "PROGRAMMES",
    "Application",
    "CardEvent",
    "CardNumberAllocator",
    "CardNumberSeries",
    "CardPolicy",
    "CardStatus",
    "CardTransitionError",
    "Failure",
    "FeeSchedule",
    "HukouAgeLimit",
    "NonHukouEnterpriseEmployeesExcluded",
    "NonHukouMustBeInsured",
    "PersonFacts",
    "PhotoSpec",
    "PhotoVerdict",
    "Programme",
    "Reason",
    "card_id_code",
    "card_number_check_char",
    "card_number_of",
    "check_application",
    "check_photo_bytes",
    "load_programme",
    "transition",
    "validate_card_id_code",
    "validate_card_number",
]
