"""Synthetic population data for demos, tests and benchmarks. Pure: numpy and polars, no
Django. Deterministic by seed.

    from shebao.synthetic import Village, dataset_generate, write_department_files

    ds = dataset_generate(villages=villages, persons=1_000_000, seed=42)
    write_department_files(ds, "out/")
"""

from shebao.synthetic.departments import (
    DEPARTMENT_KINDS,
    department_frames,
    write_department_files,
)
from shebao.synthetic.generator import (
    BENEFIT_STATUSES,
    DEFAULT_AS_OF,
    SCHEME_CODES,
    SCHEME_FLOORS,
    SyntheticDataset,
    Village,
    dataset_generate,
)

__all__ = [
    "BENEFIT_STATUSES",
    "DEFAULT_AS_OF",
    "DEPARTMENT_KINDS",
    "SCHEME_CODES",
    "SCHEME_FLOORS",
    "SyntheticDataset",
    "Village",
    "dataset_generate",
    "department_frames",
    "write_department_files",
]
