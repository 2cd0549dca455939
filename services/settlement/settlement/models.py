"""Settlement's tables: what it knows of used vouchers and completed training, the
subsidy applications it decides, and the certificates trainees obtained."""
import uuid

from sqlalchemy import (BigInteger, CheckConstraint, Date, DateTime, ForeignKey, Identity, Index, Integer,
                        SmallInteger, String, Text, UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class UsedVoucher(Base):
    """A voucher as its latest use or reversal left it: ``status`` used, reversed (the use was
    undone: nothing to pay) or settled; ``use_seq`` that use's, so that an older use or reversal
    arriving late changes nothing."""
    __tablename__ = "used_vouchers"
    voucher_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    person_key: Mapped[str] = mapped_column(String(64))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    terms = mapped_column(JSONB)
    used_at = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(12))
    # The share of a credit voucher's subsidy standard its holder is entitled to, decided at claim.
    subsidy_ratio_percent: Mapped[int] = mapped_column(SmallInteger, default=100, server_default="100")
    use_seq: Mapped[int] = mapped_column(Integer, server_default="0")


class Completion(Base):
    __tablename__ = "completions"
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), primary_key=True)


class SubsidyClaim(Base):
    """A subsidy application by an institution, and its review; or (kind ``direct``) a
    settlement a province paid itself and reported, with its payment reference."""
    __tablename__ = "subsidy_claims"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(12), server_default=text("'application'"))
    payment_reference = mapped_column(Text)
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    status: Mapped[str] = mapped_column(String(16))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    submitted_by: Mapped[str] = mapped_column(Text)
    submitted_at = mapped_column(DateTime(timezone=True))
    approved_by = mapped_column(Text)
    approved_at = mapped_column(DateTime(timezone=True))
    disbursed_at = mapped_column(DateTime(timezone=True))
    reviewer = mapped_column(Text)
    reviewed_at = mapped_column(DateTime(timezone=True))
    # Above the dual-approval amount, the first of two approvers; the funds are reserved at their approval.
    first_approver = mapped_column(Text)
    approved_fen = mapped_column(BigInteger)
    decision_reason = mapped_column(Text)


class ClaimAudit(Base):
    """Every step of an application, by whom and when (审核留痕): submitted, review started, each
    approval, a rejection, payment instructions, paid."""
    __tablename__ = "claim_audit"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subsidy_claims.id"), index=True)
    action: Mapped[str] = mapped_column(String(24))
    actor: Mapped[str] = mapped_column(Text)
    at = mapped_column(DateTime(timezone=True), nullable=False)
    details = mapped_column(JSONB)


LIVE_LINE = "accepted AND review IS DISTINCT FROM 'rejected'"


class ClaimLine(Base):
    __tablename__ = "claim_lines"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subsidy_claims.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    voucher_id = mapped_column(UUID(as_uuid=True))
    accepted: Mapped[bool]
    reason = mapped_column(Text)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    funding_source = mapped_column(Text)  # the template's, which decides the pool that pays the line
    # The reviewer's verdict on a line accepted at submission: approved, or rejected with a reason.
    review = mapped_column(String(10))
    review_reason = mapped_column(Text)
    # A voucher is in one live application at most, whatever the concurrency: a line the review
    # rejected (or whose application was rejected) frees its voucher for another application.
    __table_args__ = (Index("claim_lines_voucher_once", "voucher_id", unique=True,
                            postgresql_where=text(LIVE_LINE)),)


class Certificate(Base):
    """A certificate a trainee obtained after voucher-funded training (添加证书). Its number
    identifies a person: it stays here and never travels in an event."""
    __tablename__ = "certificates"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    voucher_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    code: Mapped[str] = mapped_column(String(16))
    person_key: Mapped[str] = mapped_column(String(64))
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    number: Mapped[str] = mapped_column(String(64))
    occupation: Mapped[str] = mapped_column(Text)
    skill_level = mapped_column(SmallInteger)
    issued_on = mapped_column(Date, nullable=False)
    issuer: Mapped[str] = mapped_column(Text)
    recorded_at = mapped_column(DateTime(timezone=True), nullable=False)
    # One certificate, one record, whoever reports it and however often.
    __table_args__ = (UniqueConstraint("kind", "number", name="certificates_kind_number"),)


class FundingPool(Base):
    """A region's budget for one funding source (资金池), on a double-entry ledger: every fen is in
    exactly one of available, reserved (approved, not yet paid) and paid, and the database refuses
    any movement that would take one below zero, whatever the concurrency."""
    __tablename__ = "funding_pools"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    region_code: Mapped[str] = mapped_column(String(6))
    funding_source: Mapped[str] = mapped_column(Text)
    budget_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    available_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        UniqueConstraint("region_code", "funding_source", name="funding_pools_one_per_source"),
        CheckConstraint("available_fen >= 0 AND reserved_fen >= 0 AND paid_fen >= 0",
                        name="funding_pools_not_negative"),
        CheckConstraint("budget_fen = available_fen + reserved_fen + paid_fen", name="funding_pools_balance"),
    )


class LedgerEntry(Base):
    """One movement of money between two accounts of a pool (``budget``, ``available``,
    ``reserved``, ``paid``): allocate, reserve, pay, release."""
    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    pool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("funding_pools.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    debit: Mapped[str] = mapped_column(String(10))   # the account the money leaves
    credit: Mapped[str] = mapped_column(String(10))  # the account it enters
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    claim_id = mapped_column(UUID(as_uuid=True), index=True)
    instruction_id = mapped_column(UUID(as_uuid=True))
    actor: Mapped[str] = mapped_column(Text)
    at = mapped_column(DateTime(timezone=True), nullable=False)
    __table_args__ = (CheckConstraint("amount_fen > 0", name="ledger_entries_positive"),)


class PaymentInstruction(Base):
    """What the bank is to pay, to whom, from which pool: one per application and payee for an
    institution or enterprise, one per trainee for a template that pays individuals."""
    __tablename__ = "payment_instructions"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subsidy_claims.id"), index=True)
    pool_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("funding_pools.id"))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    payee_type: Mapped[str] = mapped_column(String(12))  # institution | enterprise | individual
    payee_ref: Mapped[str] = mapped_column(Text)  # the institution's id, or the person key
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(10))  # pending | exported | paid | failed
    file_id = mapped_column(UUID(as_uuid=True), index=True)
    bank_reference = mapped_column(Text)  # the bank's answer: its transfer's reference, or why it failed
    created_at = mapped_column(DateTime(timezone=True), nullable=False)
    paid_at = mapped_column(DateTime(timezone=True))
    __table_args__ = (CheckConstraint("amount_fen > 0", name="payment_instructions_positive"),)


class PaymentFile(Base):
    """A bank payment file: the instructions exported together, for the bank to pay and answer."""
    __tablename__ = "payment_files"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    created_by: Mapped[str] = mapped_column(Text)
    created_at = mapped_column(DateTime(timezone=True), nullable=False)
    instructions: Mapped[int] = mapped_column(Integer)
    total_fen: Mapped[int] = mapped_column(BigInteger)
