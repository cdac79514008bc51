"""The policy file: the data controller's decisions, kept as data rather than code.

Disclosure thresholds, time limits, ages, recipient types, legal gateways, variable sensitivity tiers and the
roles that must sign in with two factors live here, validated on load, so they can change without a release — and
the privacy notice is generated from the same file. Every value has a default; a policy file only needs the values
it changes.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pupildata._toml import describe_validation_error, read_toml
from pupildata.errors import UsageError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Disclosure(_Strict):
    """Statistical disclosure control of every published table."""

    min_frequency: int = Field(10, ge=1, description="Smallest count (or numerator/denominator) published.")
    min_frequency_floor: int = Field(3, ge=1, description="No release spec may set a threshold below this.")
    dominance_n: int = Field(2, ge=1, description="(n,k) rule: the n largest contributors ...")
    dominance_k: float = Field(90.0, gt=0, le=100, description="... may not exceed k% of a magnitude cell.")
    p_percent: float = Field(10.0, gt=0, le=100, description="p% rule for magnitudes.")
    protection_percent: float = Field(
        10.0, ge=0, le=100, description="A suppressed cell's feasible interval must be at least this % of it."
    )
    method: Literal["suppression", "rounding"] = Field("suppression", description="Secondary protection.")
    rounding_base: int = Field(5, ge=2, description="Base for controlled rounding.")
    solver_time_limit_seconds: float = Field(60.0, gt=0, description="Time limit for each integer programme.")

    @model_validator(mode="after")
    def _threshold_not_below_floor(self) -> Self:
        if self.min_frequency < self.min_frequency_floor:
            raise ValueError(
                f"min_frequency {self.min_frequency} is below the floor min_frequency_floor {self.min_frequency_floor}"
            )
        return self


class SubjectAccess(_Strict):
    """Answering a pupil or parent who asks what is held about them."""

    time_limit_days: int = Field(40, ge=1, le=366, description="Calendar days to respond (DPA 1998: 40).")
    extension_days: int = Field(0, ge=0, le=366, description="Further days allowed if the requester is told.")
    legal_basis: str = "Data Protection Act 1998, section 7"


class Ages(_Strict):
    """Ages that change who may act and what is issued."""

    parent_acts_below: int = Field(12, ge=0, le=18, description="Below this age a parent acts for the child.")
    learner_number_from: int = Field(14, ge=0, le=25, description="Age from which learner numbers are issued.")
    directory_archive_at: int = Field(18, ge=0, le=25, description="Directory records are archived at this age.")


class RecipientType(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    name: str
    record_level: bool = Field(False, description="May ever receive record-level (pseudonymised) data.")


class Gateway(_Strict):
    """A legal route by which data may be shared."""

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    name: str
    legislation: str
    recipient_types: tuple[str, ...] = ()


class SignIn(_Strict):
    """How people sign in to the portal."""

    two_factor_roles: tuple[str, ...] = Field(
        ("chief-statistician", "data-protection-officer"),
        description="Roles whose accounts must use two-factor sign-in (an authenticator app's code).",
    )

    @model_validator(mode="after")
    def _role_names(self) -> Self:
        for role in self.two_factor_roles:
            if not re.fullmatch(r"[a-z][a-z0-9-]*", role):
                raise ValueError(f"'{role}' in sign_in.two_factor_roles is not a role's name")
        return self


Tier = Literal[1, 2, 3, 4]


def _default_recipient_types() -> tuple[RecipientType, ...]:
    return (
        RecipientType(id="department", name="Research and statistics inside the department", record_level=True),
        RecipientType(id="local-authority", name="Local authorities and schools", record_level=True),
        RecipientType(id="government", name="Other government departments and agencies", record_level=True),
        RecipientType(id="researcher", name="Approved independent researchers", record_level=True),
        RecipientType(id="survey-agency", name="Research agencies under contract for surveys", record_level=True),
        RecipientType(id="health", name="The health department (aggregates by health area)"),
        RecipientType(id="inspectorate", name="The schools inspectorate"),
        RecipientType(id="learning-skills", name="The learning and skills council"),
        RecipientType(id="assessment", name="The curriculum and assessment authority"),
    )


def _default_gateways() -> tuple[Gateway, ...]:
    return (
        Gateway(
            id="prescribed-persons",
            name="Individual pupil information for prescribed persons",
            legislation="Education (Individual Pupil Information) (Prescribed Persons) (England) Regulations, "
            "made under s.537A Education Act 1996",
            recipient_types=("researcher", "government", "local-authority"),
        ),
        Gateway(
            id="statistics-and-research",
            name="Statistics and research within government",
            legislation="Statistics and Registration Service Act 2007",
            recipient_types=("government", "department"),
        ),
        Gateway(
            id="survey-contract",
            name="Statistical surveys run under contract",
            legislation="Education Act 1996, s.537A; contract with the department",
            recipient_types=("survey-agency",),
        ),
        Gateway(
            id="aggregate-publication",
            name="Aggregate statistics that identify no one",
            legislation="Official statistics; no personal data",
            recipient_types=("health", "inspectorate", "learning-skills", "assessment"),
        ),
    )


def _default_tiers() -> dict[str, Tier]:
    tier1 = (
        "pmr upn former_upn uln forename middle_names surname former_surname preferred_surname address postcode "
        "dob ethnicity sen_type cin_flag lac_flag absence_reason exclusion_reason parent_name parent_contact"
    )
    tier2 = "pseudonymous_pmr la_code school_urn school_laestab health_area lsoa"
    tier3 = "sex ethnicity_major fsm sen_provision first_language nc_year age_months birth_month"
    tier4 = "ks1_level ks2_level ks3_level ks4_points height_cm weight_kg bmi"
    tiers: dict[str, Tier] = {}
    for tier, names in ((1, tier1), (2, tier2), (3, tier3), (4, tier4)):
        for name in names.split():
            tiers[name] = tier  # type: ignore[assignment]
    return tiers


class Policy(_Strict):
    """The whole policy file."""

    disclosure: Disclosure = Disclosure()
    subject_access: SubjectAccess = SubjectAccess()
    ages: Ages = Ages()
    sign_in: SignIn = SignIn()
    recipient_types: tuple[RecipientType, ...] = Field(default_factory=_default_recipient_types)
    gateways: tuple[Gateway, ...] = Field(default_factory=_default_gateways)
    variable_tiers: dict[str, Tier] = Field(
        default_factory=_default_tiers, description="Sensitivity tier of each variable: 1 most sensitive."
    )

    @model_validator(mode="after")
    def _gateways_name_known_recipients(self) -> Self:
        known = {r.id for r in self.recipient_types}
        for gateway in self.gateways:
            for rtype in gateway.recipient_types:
                if rtype not in known:
                    raise ValueError(f"gateway '{gateway.id}' names an unknown recipient type '{rtype}'")
        return self

    def tier(self, variable: str) -> Tier:
        """The sensitivity tier of a variable; unknown variables are treated as the most sensitive."""
        return self.variable_tiers.get(variable, 1)


def load_policy(path: Path | None) -> Policy:
    """The policy from a TOML file, or the built-in defaults when no file is given."""
    if path is None:
        return Policy()
    data = read_toml(path, "policy file")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise UsageError(describe_validation_error(exc, f"policy file {path}")) from None
