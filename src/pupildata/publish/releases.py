"""The releases the department makes from the linked record, one per recipient."""

from __future__ import annotations

from pupildata.publish.specs import Filter, Outcome, ReleaseSpec, TableSpec

CHARACTERISTICS = ("sex", "ethnicity_major", "fsm", "sen", "eal")
_YEARS = Filter("nc_year", (("R", "Reception"), ("6", "Year 6")))
_BMI = Outcome(
    "bmi_category",
    (
        ("underweight", "Underweight"),
        ("healthy_weight", "Healthy weight"),
        ("overweight", "Overweight"),
        ("obese", "Obese"),
    ),
    parts=(("severely_obese", "Severely obese", "obese"),),
    label="Children measured",
    confidence=True,
)
_MEANS = (("height_cm", "height", "cm"), ("weight_kg", "weight", "kg"), ("bmi", "BMI", "kg/m²"))
_EXPECTED = Outcome("at_expected", (("true", "At the expected level"), ("false", "Below the expected level")))
_PROGRESS = Outcome("made_expected", (("true", "Made expected progress"), ("false", "Did not make expected progress")))
_SUBJECTS = {
    1: ("reading", "writing", "maths", "science"),
    2: ("english", "maths", "science"),
    3: ("english", "maths", "science"),
    4: ("english", "maths"),
}


_CORE = Filter("subject", (("english", "English"), ("maths", "Maths")))


def _subjects(stage: int) -> Filter:
    return Filter("subject", tuple((s, s.capitalize()) for s in _SUBJECTS[stage]))


RELEASES: dict[str, ReleaseSpec] = {
    "child-measurement": ReleaseSpec(
        "child-measurement",
        "Child measurement: Reception and Year 6",
        "health",
        "Children measured, participation, mean height, weight and BMI, and the prevalence of each BMI category "
        "(UK90 population-monitoring thresholds) with 95% Wilson intervals, by local authority and health area.",
        (
            TableSpec(
                "ncmp_la",
                "By local authority",
                "ncmp",
                ("la",),
                filters=(_YEARS,),
                breakdowns=("sex",),
                outcome=_BMI,
                means=_MEANS,
                eligible="eligible_ncmp",
            ),
            TableSpec(
                "ncmp_health_area",
                "By health area",
                "ncmp",
                ("health_area", "la"),
                filters=(_YEARS,),
                outcome=_BMI,
                means=_MEANS,
            ),
        ),
    ),
    "attainment": ReleaseSpec(
        "attainment",
        "Achievement at key stages 1 to 4",
        "assessment",
        "Pupils at the expected level by key stage, subject and pupil characteristic, by local authority.",
        tuple(
            TableSpec(
                f"ks{k}",
                f"Key stage {k}",
                "attainment",
                ("la",),
                where=(("key_stage", str(k)),),
                filters=(_subjects(k),),
                breakdowns=CHARACTERISTICS,
                outcome=_EXPECTED,
            )
            for k in (1, 2, 3, 4)
        ),
    ),
    "school-performance": ReleaseSpec(
        "school-performance",
        "School attainment and progress",
        "inspectorate",
        "By school: pupils at the expected level at key stage 2, and the proportion making the expected progress "
        "from key stage 1 to 2 and from key stage 2 to 4.",
        (
            TableSpec(
                "ks2_attainment",
                "Key stage 2 attainment",
                "attainment",
                ("school",),
                where=(("key_stage", "2"),),
                filters=(_CORE,),
                outcome=_EXPECTED,
            ),
            TableSpec(
                "progress_ks1_ks2",
                "Progress from key stage 1 to 2",
                "progress",
                ("school",),
                where=(("key_stage", "2"),),
                filters=(_CORE,),
                outcome=_PROGRESS,
            ),
            TableSpec(
                "progress_ks2_ks4",
                "Progress from key stage 2 to 4",
                "progress",
                ("school",),
                where=(("key_stage", "4"),),
                filters=(_CORE,),
                outcome=_PROGRESS,
            ),
        ),
    ),
    "post16-participation": ReleaseSpec(
        "post16-participation",
        "Participation in learning at 16 to 18",
        "learning-skills",
        "Young people in education or work-based learning, by age, local authority and characteristic.",
        (
            TableSpec(
                "participation",
                "Participation at 16, 17 and 18",
                "post16",
                ("la",),
                filters=(Filter("age"),),
                breakdowns=CHARACTERISTICS,
                outcome=Outcome(
                    "in_learning", (("true", "In learning"), ("false", "Not in learning")), label="Young people"
                ),
            ),
        ),
    ),
}
