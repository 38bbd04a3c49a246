"""Pure rules of the usage app: no Django imports (checked by import-linter)."""
