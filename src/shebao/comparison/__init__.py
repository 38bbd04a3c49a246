"""The comparison engine (比对): pure, no Django.

domain        categories, scheme groups, the rules' arithmetic, result shapes
ports         the engine port (ComparisonEngine) and SourceSnapshot
duckdb_engine the DuckDB adapter (default)
pipeline      run_comparison (any engine) and compare_files (the `compare-files` contract)
"""
