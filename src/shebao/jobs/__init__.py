"""Background jobs: long work (imports, comparison runs, bulletins, aggregate refreshes) queued
in the database, run by `shebao worker`, with progress the pages can show."""
