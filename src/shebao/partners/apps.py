from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "shebao.partners"
    label = "partners"
    verbose_name = "合作机构与身份核验"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from shebao.partners import jobs  # noqa: F401  (registers the job kinds)
        from shebao.partners.receivers import person_saved
        from shebao.registry.models import Person

        # A change to a person partners verified is pushed to their webhooks at once.
        post_save.connect(person_saved, sender=Person, dispatch_uid="partners_notify_change")
