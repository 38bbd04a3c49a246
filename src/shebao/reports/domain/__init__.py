"""Pure core of the reports app (no Django): metrics, rounding, the rows of import files,
the bulletin arithmetic and its text. Fast unit tests cover it without a database."""
