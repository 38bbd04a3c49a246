from django.apps import AppConfig
from django.db.models.signals import post_save


class PaymentsConfig(AppConfig):
    name = "shebao.payments"
    label = "payments"
    verbose_name = "待遇及补贴发放"

    def ready(self) -> None:
        from shebao.payments import (
            jobs_bank,  # noqa: F401 - registers the bank-side jobs
            jobs_batches,  # noqa: F401 - registers the batches' jobs
        )
        from shebao.payments.receivers import person_saved
        from shebao.registry.models import Person

        # A death recorded in the registry lists payments made after it for recovery.
        post_save.connect(person_saved, sender=Person, dispatch_uid="payments_recover_on_death")
