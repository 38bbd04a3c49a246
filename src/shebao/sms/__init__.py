"""Text messages (SMS) and the one-time codes sent by them.

    from shebao.sms.backends import sms_send
    sms_send(phone="13812345678", text="…")          # through the configured gateway

    from shebao.sms.services import otp_issue, otp_verify
    issued = otp_issue(purpose="self_service", subject="person:7", phone=..., text=...)
    otp_verify(code_id=issued.code_id, subject="person:7", code="123456")

The gateway is a backend (`SHEBAO_SMS_BACKEND`): `file` (default: one JSON line per message
in `<SHEBAO_DATA_DIR>/sms/outbox.jsonl`, for development, the demo and tests) or `console`;
a real operator's gateway is another class with the same `send` method. Codes are kept as
salted HMACs only, expire after five minutes, allow five tries, and are not re-sent within
a minute.
"""
