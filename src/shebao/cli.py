"""The `shebao` console script: Django's management commands with the settings preset."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shebao.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0].replace("-", "_") == "compare_files":
        # A file tool that touches no database: run without django.setup(), which imports
        # every app (about 4 of the 7 seconds a run spent before it read its first file).
        from shebao.registration.management.commands.compare_files import Command

        Command().run_from_argv(["shebao", "compare_files", *args[1:]])
        return
    try:
        settings.INSTALLED_APPS  # noqa: B018 - reading it loads and checks the settings
    except ImproperlyConfigured as exc:
        # A refusal to start (a missing production key...) is one line for the operator,
        # not a traceback; Django itself would only note it under "Unknown command".
        print(f"shebao 无法启动：{exc}", file=sys.stderr)
        sys.exit(2)
    # Contracts spell some commands with hyphens (`shebao compare-files`); Django modules
    # cannot, so `compare-files` runs the `compare_files` command.
    if args and not args[0].startswith("-"):
        args[0] = args[0].replace("-", "_")
    execute_from_command_line(["shebao", *args])


if __name__ == "__main__":
    main()
