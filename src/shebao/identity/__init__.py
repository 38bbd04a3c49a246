"""Pure validation, normalisation and masking of personal identifiers.

No Django here (an import-linter contract forbids it), so the same code serves the web forms,
the batch engine and the scripts. The DuckDB macros live in `shebao.identity.duckdb_sql`,
imported on demand so that importing this package does not load DuckDB.
"""

from shebao.identity._issues import Issue, IssueCode
from shebao.identity.address_codes import is_known_address_code, known_address_codes
from shebao.identity.credit_code import (
    CreditCodeCheck,
    CreditCodeErrorCode,
    credit_code_check_char,
    is_valid_credit_code,
    normalize_credit_code,
    validate_credit_code,
)
from shebao.identity.id_number import (
    Gender,
    IdCheck,
    IdErrorCode,
    IdWarningCode,
    age_on,
    birth_date_of,
    gender_of,
    id_number_check_char,
    is_valid_id_number,
    normalize_id_number,
    validate_id_number,
)
from shebao.identity.masking import mask_bank_account, mask_id_number, mask_name, mask_phone
from shebao.identity.names import NameCheck, NameErrorCode, normalize_name, validate_name
from shebao.identity.phone import (
    PhoneCheck,
    PhoneErrorCode,
    is_valid_mobile,
    normalize_mobile,
    validate_mobile,
)

__all__ = [
    "CreditCodeCheck",
    "CreditCodeErrorCode",
    "Gender",
    "IdCheck",
    "IdErrorCode",
    "IdWarningCode",
    "Issue",
    "IssueCode",
    "NameCheck",
    "NameErrorCode",
    "PhoneCheck",
    "PhoneErrorCode",
    "age_on",
    "birth_date_of",
    "credit_code_check_char",
    "gender_of",
    "id_number_check_char",
    "is_known_address_code",
    "is_valid_credit_code",
    "is_valid_id_number",
    "is_valid_mobile",
    "known_address_codes",
    "mask_bank_account",
    "mask_id_number",
    "mask_name",
    "mask_phone",
    "normalize_credit_code",
    "normalize_id_number",
    "normalize_mobile",
    "normalize_name",
    "validate_credit_code",
    "validate_id_number",
    "validate_mobile",
    "validate_name",
]
