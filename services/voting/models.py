"""Voting storage (SQLAlchemy 2).

V8: for a secret ballot the participation roll (who voted) and the ballot box
(which choices were cast) are separate tables that share no key, order or
timestamp: box entries have a random uuid4 key, no timestamp, no row id
(``WITHOUT ROWID`` on SQLite).  A vote's participation row and its box entry are
written in one transaction (one PostgreSQL xmin, neighbouring pages, one WAL
record run), so the box entry holds no choice in clear: only a randomised
Paillier ciphertext under the ballot key, which is kept in a file, never here
(``ballot_key``); the close decrypts only the sum.  The box is still rewritten
in random order when the ballot closes.  Choices of non-secret ballots are kept
per person in ``open_votes``.
"""
import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import UTCDateTime, messaging_tables


class Base(DeclarativeBase):
    pass


class Ballot(Base):
    __tablename__ = "ballots"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    meeting_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    agenda_item_id: Mapped[str] = mapped_column(sa.String(64), index=True)   # the meetings topic_id
    # V4: set to agenda_item_id while the ballot is open, NULL once closed; unique, so two
    # ballots on one item can never be open at once, even when opened concurrently
    open_item_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True, unique=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    category: Mapped[str] = mapped_column(sa.String(40))
    method: Mapped[str] = mapped_column(sa.String(20))                      # V2
    emergency: Mapped[bool] = mapped_column(sa.Boolean)
    chair_person_id: Mapped[str] = mapped_column(sa.String(64))
    n: Mapped[int] = mapped_column(sa.Integer)                              # V3 denominator
    present: Mapped[int] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(20))                      # open | closed
    opened_by: Mapped[str] = mapped_column(sa.String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # 0002 -----------------------------------------------------------------
    candidate_person_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)   # V4
    # V5: the deferred ballot this one votes again (复议表决); unique: a deferred ballot is re-voted once
    previous_ballot_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    # V7: the decision this ballot reconsiders; ``open_reconsideration_of`` holds it while the
    # ballot is open (unique: one reconsideration at a time), NULL once closed
    reconsiders_decision_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    open_reconsideration_of: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)
    reconsideration_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    disagreement_ratio: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)   # V5, copied at open
    # V2: counts recorded by the chair for an oral / show-of-hands ballot (no per-person roll)
    count_yes: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    count_no: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    count_abstain: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    counts_recorded_by: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    # 0006: V8, the public fingerprint of the ballot key a secret box is sealed under
    box_key: Mapped[str | None] = mapped_column(sa.String(16), nullable=True)

    __table_args__ = (
        sa.Index("ix_ballots_previous_ballot_id", "previous_ballot_id", unique=True),
        sa.Index("ix_ballots_open_reconsideration_of", "open_reconsideration_of", unique=True),
    )


class Elector(Base):
    """The attendance snapshot copied into the ballot when it opens (V1, M9)."""
    __tablename__ = "electorate"
    ballot_id: Mapped[str] = mapped_column(sa.ForeignKey("ballots.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    role: Mapped[str] = mapped_column(sa.String(40))
    presence: Mapped[str] = mapped_column(sa.String(20))                    # present | leave | absent
    written_opinion: Mapped[str | None] = mapped_column(sa.Text, nullable=True)   # M9
    # 0003: V4 回避 — the item's candidate or a declared conflict: no vote, not counted in N or present
    recused: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())


class ConflictDeclaration(Base):
    """V4 回避: a group member declared a conflict of interest on an agenda item, before voting."""
    __tablename__ = "conflict_declarations"
    agenda_item_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))
    meeting_id: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str] = mapped_column(sa.Text)
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Participation(Base):
    """The roll: who voted (V1: the key makes a second vote impossible), never what.

    ``reserved_opinion`` (V6) is kept for every method, secret ballots included:
    it is not a choice.
    """
    __tablename__ = "participations"
    ballot_id: Mapped[str] = mapped_column(sa.ForeignKey("ballots.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    reserved_opinion: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class OpenVote(Base):
    """A person's choice on an oral, show-of-hands or named ballot (never a secret one)."""
    __tablename__ = "open_votes"
    ballot_id: Mapped[str] = mapped_column(sa.ForeignKey("ballots.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    choice: Mapped[str] = mapped_column(sa.String(10))
    recorded_by: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)   # V2: chair's record


class BoxEntry(Base):
    """The secret ballot box (V8): a random key and a sealed choice, nothing else.

    ``sealed``: "paillier:<key id>:<ciphertext>" (``ballot_key``).  ``choice`` is only ever set
    on entries a version before 0006 wrote in clear, until their ballot closes and the box is
    rewritten sealed."""
    __tablename__ = "ballot_box"
    __table_args__ = {"sqlite_with_rowid": False}
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, autoincrement=False)   # uuid4
    ballot_id: Mapped[str] = mapped_column(sa.ForeignKey("ballots.id"), index=True)
    choice: Mapped[str | None] = mapped_column(sa.String(10), nullable=True)
    sealed: Mapped[str | None] = mapped_column(sa.Text, nullable=True)


class Decision(Base):
    """V9: every decision records N, present, yes, no, abstain, method, threshold, outcome, emergency."""
    __tablename__ = "decisions"
    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True)
    ballot_id: Mapped[str] = mapped_column(sa.ForeignKey("ballots.id"), unique=True)
    org_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    meeting_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    agenda_item_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    category: Mapped[str] = mapped_column(sa.String(40))
    method: Mapped[str] = mapped_column(sa.String(20))
    emergency: Mapped[bool] = mapped_column(sa.Boolean)
    n: Mapped[int] = mapped_column(sa.Integer)
    present: Mapped[int] = mapped_column(sa.Integer)
    yes: Mapped[int] = mapped_column(sa.Integer)
    no: Mapped[int] = mapped_column(sa.Integer)
    abstain: Mapped[int] = mapped_column(sa.Integer)
    threshold: Mapped[int] = mapped_column(sa.Integer)
    outcome: Mapped[str] = mapped_column(sa.String(20))                     # passed | failed | deferred
    superseded_decision_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)   # V7
    explanation: Mapped[str] = mapped_column(sa.Text)
    decided_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # 0002 -----------------------------------------------------------------
    candidate_person_id: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)      # V4
    previous_ballot_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)       # V5
    reconsidered_decision_id: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)  # V7
    superseded_by: Mapped[str | None] = mapped_column(sa.String(36), nullable=True)            # V7
    superseded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    serious_disagreement: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())  # V5
    confirm_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)                 # V5
    deferred_reason: Mapped[str | None] = mapped_column(sa.Text, nullable=True)                # V5
    counts_only: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())           # V2


# 0005: an organization's decisions, newest first, are one index range scan (list_decisions' keyset)
sa.Index("ix_decisions_org_recent", Decision.org_id, Decision.decided_at.desc(), Decision.id)


class ReservedOpinion(Base):
    """V6: a reserved opinion recorded after the decision by a member present at the ballot.

    It holds the member's own words, never a choice (V8), for secret ballots too.
    """
    __tablename__ = "reserved_opinions"
    decision_id: Mapped[str] = mapped_column(sa.ForeignKey("decisions.id"), primary_key=True)
    person_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class MinutesApproval(Base):
    """M10 → V6: the meeting's minutes were approved (from meetings.minutes_approved); reserved opinions
    after the decision close then, by default."""
    __tablename__ = "minutes_approvals"
    meeting_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.String(64))
    approved_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Policy(Base):
    """An organization's voting policy (V5: the serious-disagreement ratio)."""
    __tablename__ = "policies"
    org_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    disagreement_ratio: Mapped[str] = mapped_column(sa.String(16))
    updated_by: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


outbox, inbox = messaging_tables(Base.metadata)
