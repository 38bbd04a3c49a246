"""Pure rules of the ecard app: no Django imports (checked by import-linter)."""
