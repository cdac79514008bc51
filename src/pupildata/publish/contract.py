"""The input contract: the warehouse views that publishing reads, as the linking step must produce them.

Each release reads only these views and columns; a spec naming anything else is refused before any work starts.
``year`` is the first calendar year of the academic year (2008 = 2008/09). Characteristics are those recorded
for the pupil in that year's census.
"""

from __future__ import annotations

Column = tuple[str, str]  # (DuckDB type, meaning)

CONTRACT: dict[str, dict[str, Column]] = {
    "pupil_year": {
        "pmr": ("VARCHAR", "the pupil's master reference from linking"),
        "year": ("INTEGER", "academic year, by its first calendar year"),
        "la_code": ("INTEGER", "three-digit code of the local authority of the school"),
        "school_urn": ("INTEGER", "URN of the school in that year's census"),
        "school_laestab": ("INTEGER", "LAESTAB of that school"),
        "school_name": ("VARCHAR", "name of that school"),
        "sex": ("VARCHAR", "M or F"),
        "ethnicity_major": ("VARCHAR", "major ethnic group (the grouping of the ethnicity code set)"),
        "fsm": ("BOOLEAN", "eligible for free school meals"),
        "sen": ("VARCHAR", "SEN provision: N, A, P or S"),
        "eal": ("BOOLEAN", "first language other than English"),
        "nc_year": ("VARCHAR", "national curriculum year: R, 1 … 14"),
    },
    "ks_result": {
        "pmr": ("VARCHAR", "the pupil's master reference"),
        "year": ("INTEGER", "academic year of the assessment"),
        "key_stage": ("INTEGER", "1, 2, 3 or 4"),
        "subject": ("VARCHAR", "reading, writing, maths, science (KS1); english, maths, science (KS2–KS4)"),
        "level": ("VARCHAR", "the outcome code (e.g. 2B, 4, C)"),
        "level_value": ("DOUBLE", "on one scale: NC level (2C/2B/2A = 2), GCSE G = 3 … C = 7 … A* = 10"),
        "at_expected": ("BOOLEAN", "KS1 level 2+, KS2 level 4+, KS3 level 5+, KS4 grade C+"),
    },
    "ncmp_measurement": {
        "pmr": ("VARCHAR", "the child's master reference"),
        "year": ("INTEGER", "academic year of measurement"),
        "la_code": ("INTEGER", "local authority of the school"),
        "health_area_code": ("VARCHAR", "primary care trust (health area) that measured the child"),
        "school_urn": ("INTEGER", "school"),
        "sex": ("VARCHAR", "M or F"),
        "nc_year": ("VARCHAR", "R or 6"),
        "age_days": ("INTEGER", "age in days at measurement"),
        "height_cm": ("DOUBLE", "height in centimetres"),
        "weight_kg": ("DOUBLE", "weight in kilograms"),
    },
    "post16_learner": {
        "pmr": ("VARCHAR", "the young person's master reference"),
        "year": ("INTEGER", "academic year"),
        "la_code": ("INTEGER", "local authority of residence at 16"),
        "sex": ("VARCHAR", "M or F"),
        "ethnicity_major": ("VARCHAR", "major ethnic group"),
        "fsm": ("BOOLEAN", "eligible for free school meals in Year 11"),
        "sen": ("VARCHAR", "SEN provision in Year 11"),
        "eal": ("BOOLEAN", "first language other than English"),
        "age": ("INTEGER", "age on 31 August: 16, 17 or 18"),
        "in_learning": ("BOOLEAN", "in education or work-based learning in that year"),
    },
}

#: The codes each characteristic takes (code, label); filters list every code so the matrix is complete.
CODES: dict[str, tuple[tuple[str, str], ...]] = {
    "sex": (("M", "Boys"), ("F", "Girls")),
    "ethnicity_major": tuple(
        (g, g) for g in ("White", "Mixed", "Asian", "Black", "Chinese", "Any other ethnic group", "Unclassified")
    ),
    "fsm": (("true", "FSM eligible"), ("false", "Not FSM eligible")),
    "sen": (("N", "No SEN"), ("A", "School Action"), ("P", "School Action Plus"), ("S", "Statement")),
    "eal": (("true", "First language other than English"), ("false", "First language English")),
    "nc_year": (("R", "Reception"), *((str(y), f"Year {y}") for y in range(1, 15))),
    "key_stage": tuple((str(k), f"Key stage {k}") for k in (1, 2, 3, 4)),
    "age": (("16", "Age 16"), ("17", "Age 17"), ("18", "Age 18")),
}

LABELS = {
    "sex": "Sex",
    "ethnicity_major": "Ethnicity (major group)",
    "fsm": "Free school meals",
    "sen": "Special educational needs",
    "eal": "First language",
    "nc_year": "Year group",
    "key_stage": "Key stage",
    "subject": "Subject",
    "age": "Age",
}


def columns(view: str) -> dict[str, Column]:
    return CONTRACT[view]
