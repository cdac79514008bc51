"""The registry's tables: the operational record of the service (SQLite file by default, PostgreSQL when many
people use it). Each domain adds its own tables here through a migration; the shapes are identical on both."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class AuditEvent(Base):
    """One event of the append-only, hash-chained audit trail."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    occurred_at: Mapped[str] = mapped_column(String(32), nullable=False)  # ISO 8601 UTC, exactly as hashed
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    action: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    object_type: Mapped[str] = mapped_column(String(100), nullable=False)
    object_id: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    reason: Mapped[str] = mapped_column(Text, nullable=False, default="")
    detail: Mapped[str] = mapped_column(Text, nullable=False, default="{}")  # canonical JSON, exactly as hashed
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class AuditHead(Base):
    """The single row naming the last event of the chain; appending locks it, so events are strictly ordered."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class Run(Base):
    """One run of a pipeline step: what went in, what came out, how many, how long, and how it ended."""

    __tablename__ = "run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    step: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), nullable=False)  # running, succeeded, failed
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False, default=dict)
    inputs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    outputs: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False, default=list)
    counts: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(Integer, index=True)


# --- collection ------------------------------------------------------------------------------------------------


class CollectCollection(Base):
    """A collection of data returns, e.g. the spring school census 2009, and when it is due."""

    __tablename__ = "collect_collection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)  # census-2009-spr
    title: Mapped[str] = mapped_column(String(200), nullable=False)  # Spring census 2009
    source: Mapped[str] = mapped_column(String(20), nullable=False)
    due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class CollectExpectedSender(Base):
    """A sender (school, health area, provider, agency) expected to send a return to a collection."""

    __tablename__ = "collect_expected_sender"
    __table_args__ = (UniqueConstraint("collection_id", "sender"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection_id: Mapped[int] = mapped_column(ForeignKey("collect_collection.id"), nullable=False, index=True)
    sender: Mapped[str] = mapped_column(String(200), nullable=False)
    sender_name: Mapped[str | None] = mapped_column(String(200))


class CollectReceipt(Base):
    """A copy of a warehouse receipt (the warehouse row is the truth), for the portal and the collection status."""

    __tablename__ = "collect_receipt"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    file_name: Mapped[str] = mapped_column(String(500), nullable=False)
    size_bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False)
    source: Mapped[str | None] = mapped_column(String(20))
    file_format: Mapped[str | None] = mapped_column(String(20))
    collection: Mapped[str | None] = mapped_column(String(100), index=True)
    sender: Mapped[str | None] = mapped_column(String(200))
    sender_name: Mapped[str | None] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(Integer)
    records: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    accepted: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    quarantined: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    queried: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0)
    superseded_by: Mapped[int | None] = mapped_column(Integer)
    duplicate_of: Mapped[int | None] = mapped_column(Integer)
    corrects: Mapped[int | None] = mapped_column(Integer)
    rule_code: Mapped[str | None] = mapped_column(String(20))
    message: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    rule_counts: Mapped[dict[str, int]] = mapped_column(JSON, nullable=False, default=dict)


class LinkReview(Base):
    """A pair of records the matching model was unsure about, waiting for (or given) a clerical decision."""

    __tablename__ = "link_review"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(Integer, nullable=False, index=True)
    left_key: Mapped[str] = mapped_column(String(200), nullable=False)
    right_key: Mapped[str] = mapped_column(String(200), nullable=False)
    probability: Mapped[float] = mapped_column(Float, nullable=False)
    status: Mapped[str] = mapped_column(String(20), nullable=False, index=True)  # open, decided
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class LinkDecision(Base):
    """A person's decision that two records are (or are not) the same child; every later run honours it."""

    __tablename__ = "link_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    left_key: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    right_key: Mapped[str] = mapped_column(String(200), nullable=False, index=True)
    decision: Mapped[str] = mapped_column(String(20), nullable=False)  # same, different
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    review_id: Mapped[int | None] = mapped_column(Integer)


# --- portal accounts -------------------------------------------------------------------------------------------


class PortalUser(Base):
    """A person who signs in to the portal: their role, and for a sender the returns they may read."""

    __tablename__ = "portal_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(100), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(50), nullable=False)
    scope: Mapped[list[str]] = mapped_column(JSON, nullable=False, default=list)  # senders, or la:NNN
    password_hash: Mapped[str | None] = mapped_column(String(300))
    failed_sign_ins: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: Two-factor sign-in: the authenticator's secret, encrypted with a key of the data home (never in clear),
    #: when it was made, when its owner confirmed it with a code (on only then), and the last time step whose
    #: code was used (a code is never accepted twice).
    totp_secret: Mapped[str | None] = mapped_column(String(300))
    totp_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    #: When a browser session of the account last began (signing in), for the accounts page.
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PortalSession(Base):
    """A signed-in browser, an API token or a one-time sign-in link. Only a hash of its secret is kept."""

    __tablename__ = "portal_session"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(20), nullable=False)  # browser, api, link, two-factor
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    #: An API token's name, given by its holder ("nightly export"); none for other kinds.
    label: Mapped[str | None] = mapped_column(String(60), nullable=True)
    #: When an API token last signed a request in (stamped at most every few minutes).
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class PortalRecoveryCode(Base):
    """One unused recovery code of an account's two-factor sign-in: only its SHA-256 is kept; using it deletes it."""

    __tablename__ = "portal_recovery_code"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("portal_user.id"), nullable=False, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
