"""The areas of the service and the people it serves: one list, shown on the home page and in the API index.

Each area is filled in by its own part of the service. Until an area has pages, it is described here in plain
words and has no link (``href`` is None), so that no one follows a link to a page that does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pupildata.web.permissions import PUBLIC, READ_AUDIT, READ_COLLECTIONS, READ_RETURNS, REVIEW_MATCHES


@dataclass(frozen=True)
class Guide:
    """A page of an area open to anyone, such as what a sender needs before sending."""

    name: str
    href: str


@dataclass(frozen=True)
class Page:
    """A page of an area, and the permission its route declares (``needs``)."""

    href: str
    needs: str


@dataclass(frozen=True)
class Area:
    slug: str
    name: str
    summary: str
    used_by: str
    href: str | None = None
    #: the permission the route of ``href`` declares
    needs: str = PUBLIC
    guides: tuple[Guide, ...] = ()
    #: other pages of the area, for a signed-in person whose account cannot open ``href`` (the first it can)
    also: tuple[Page, ...] = ()

    def link_for(self, can: Callable[[str], bool] | None) -> str | None:
        """Where the area's name leads someone: its page when ``can`` is None (no one signed in: that page asks them
        to sign in), else the first of its pages their account may open (``can``: whether it has a permission),
        else nowhere — never to a refusal."""
        if self.href is None:
            return None
        pages = (Page(self.href, self.needs), *self.also)
        return self.href if can is None else next((p.href for p in pages if can(p.needs)), None)

    @property
    def available(self) -> bool:
        return self.href is not None


@dataclass(frozen=True)
class Audience:
    name: str
    what_they_do: str


AUDIENCES: tuple[Audience, ...] = (
    Audience("Statisticians", "prepare the school census and attainment data and produce official statistics."),
    Audience("The Chief Statistician", "approves or refuses every request to share pupil data."),
    Audience(
        "The Data Protection Officer",
        "answers requests from pupils and parents for their information, and checks the audit trail.",
    ),
    Audience("Schools and local authorities", "send pupil records, fix errors and see data about their pupils."),
    Audience("Practitioners working with children", "find who else is working with a child, where allowed."),
    Audience("Approved researchers", "apply for pseudonymised data that does not name any pupil."),
    Audience("Pupils and parents", "ask what information is held about a pupil and get a copy of it."),
)

AREAS: tuple[Area, ...] = (
    Area(
        "collections",
        "Data collections",
        "Schools and local authorities send the school census and attainment returns. Each file is checked "
        "against the collection rules and the sender gets a report of anything to fix.",
        "Schools, local authorities and statisticians",
        href="/collections",
        needs=READ_COLLECTIONS,
        guides=(Guide("Data formats", "/collections/formats"), Guide("Validation rules", "/collections/rules")),
        also=(Page("/returns", READ_RETURNS),),  # a school's or an authority's own returns
    ),
    Area(
        "matching",
        "Matching pupil records",
        "Records for the same child from different years, schools and collections are linked into one record. "
        "Uncertain matches are set aside for a person to decide.",
        "Statisticians",
        href="/matching/review",
        needs=REVIEW_MATCHES,
    ),
    Area(
        "statistics",
        "Statistics and releases",
        "Tables for official statistics are produced from the matched records. Small numbers that could "
        "identify a pupil are suppressed or rounded, and every release is checked before anything is written.",
        "Statisticians and the bodies that receive statistics",
        href="/releases",
    ),
    Area(
        "sharing",
        "Sharing data",
        "Requests for pupil-level data are checked against the law that allows the sharing and approved by the "
        "Chief Statistician. Only the variables needed are released, and each release is recorded.",
        "Approved researchers, government bodies and the Chief Statistician",
    ),
    Area(
        "directory",
        "Children's services directory",
        "Practitioners can find out which services are working with a child, so that they can work together. "
        "Sensitive services are shown only to those allowed to see them.",
        "Practitioners working with children",
    ),
    Area(
        "learner-register",
        "Learner register",
        "Learner numbers are issued and kept up to date so that a young person's learning can be followed "
        "from school into further education and training.",
        "Schools, colleges and training providers",
    ),
    Area(
        "subject-access",
        "Asking what is held about a pupil",
        "Pupils and parents can ask for a copy of the information held about a pupil. Each request is tracked "
        "so that it is answered within the time the law allows.",
        "Pupils, parents and the Data Protection Officer",
    ),
    Area(
        "audit",
        "Audit trail",
        "Every time pupil information is viewed, changed, matched or shared, a record is kept that cannot be "
        "changed afterwards. The Data Protection Officer can check it.",
        "The Data Protection Officer",
        href="/audit",
        needs=READ_AUDIT,
    ),
)


__all__ = ["AREAS", "AUDIENCES", "Area", "Audience", "Guide", "Page"]
