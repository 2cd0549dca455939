"""Settlement's tables: what it knows of used vouchers and completed training, the
subsidy applications it decides, and the certificates trainees obtained."""
import uuid

from sqlalchemy import (BigInteger, Date, DateTime, ForeignKey, Identity, Index, Integer, SmallInteger, String, Text,
                        UniqueConstraint, text)
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
    status: Mapped[str] = mapped_column(String(12))
    total_fen: Mapped[int] = mapped_column(BigInteger)
    submitted_by: Mapped[str] = mapped_column(Text)
    submitted_at = mapped_column(DateTime(timezone=True))
    approved_by = mapped_column(Text)
    approved_at = mapped_column(DateTime(timezone=True))
    disbursed_at = mapped_column(DateTime(timezone=True))


class ClaimLine(Base):
    __tablename__ = "claim_lines"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    claim_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("subsidy_claims.id"), index=True)
    code: Mapped[str] = mapped_column(String(32))
    voucher_id = mapped_column(UUID(as_uuid=True))
    accepted: Mapped[bool]
    reason = mapped_column(Text)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    # A voucher is paid through one application at most, whatever the concurrency.
    __table_args__ = (Index("claim_lines_voucher_once", "voucher_id", unique=True,
                            postgresql_where=text("accepted")),)


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
