"""Pure rules of the payments app: no Django imports (checked by import-linter)."""
