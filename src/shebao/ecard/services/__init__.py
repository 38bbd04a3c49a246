"""The e-card's services (writes). What other apps call:

* keys (`ecard.services.keys`): `keys_signing`, `keys_published`, `keys_verifiers`,
  `keys_rotate` — the platform's SM2 keys, private keys outside the database.
* issue (`ecard.services.ecards`): `ecard_issue_start` → SMS code → `ecard_issue_confirm`;
  `ecard_issue_by_operator` (no SMS, audited). The e-card follows its card by signals.
* QR (`ecard.services.qr`): `qr_issue`, `qr_png`, `qr_png_data_uri`, `qr_verify` (offline),
  `qr_redeem(text, terminal_code=, fields=)` → `Redeemed` (holder fields + business token)
  or `QrRefused` (code EXPIRED/REPLAYED/FORGED/REVOKED/UNKNOWN_KEY/MALFORMED);
  `business_token_check(token, terminal_code=)`.
* holder sign-in (`ecard.services.holders`): `holder_login_start` → SMS code →
  `holder_login_verify` → the citizen `User`; `holder_person(user)`.

Reads are in `ecard.selectors`.
"""
