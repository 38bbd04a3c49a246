"""The holder and SMS outbox fixtures are the single sign-on tests' own."""

from tests.integration.sso.conftest import holder, sms_outbox  # noqa: F401
