"""Pure rules of the partners app: no Django imports (checked by import-linter)."""
