"""Redemption's tables: the right to use each claimed voucher, and the classes where
vouchers are used and the projects institutions may train for (replicated from issuance's
catalogue)."""
import datetime
import uuid

from sqlalchemy import (BigInteger, CheckConstraint, Date, DateTime, ForeignKeyConstraint, Identity, Index, Integer,
                        LargeBinary, String, Text, func, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class TemplateTerms(Base):
    """The terms (issuance's template snapshot) of one template version, kept once for all the
    rights issued under it."""
    __tablename__ = "template_terms"
    template_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    terms = mapped_column(JSONB, nullable=False)


class VoucherRight(Base):
    """The right to use one claimed voucher, decided here and only here. ``terms`` are those of
    the template version the voucher was issued under; ``valid_until`` the right's own last day."""
    __tablename__ = "voucher_rights"
    __table_args__ = (
        # The expiry sweep reads claimed rights by last day.
        Index("voucher_rights_claimed_until", "valid_until", postgresql_where=text("status = 'claimed'")),
        ForeignKeyConstraint(["template_id", "template_version"], ["template_terms.template_id",
                                                                   "template_terms.version"],
                             name="voucher_rights_template_terms"),
    )
    voucher_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    holder: Mapped[str] = mapped_column(String(64), index=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    template_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    template_version: Mapped[int] = mapped_column(Integer)
    template: Mapped[TemplateTerms] = relationship(lazy="joined", innerjoin=True)
    status: Mapped[str] = mapped_column(String(12))
    claimed_at = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime.date] = mapped_column(Date)
    used_at = mapped_column(DateTime(timezone=True))
    used_by_institution = mapped_column(UUID(as_uuid=True))
    used_in_class = mapped_column(UUID(as_uuid=True))
    used_by_device = mapped_column(UUID(as_uuid=True))  # the scanner's gateway client, if a device scanned
    use_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # uses so far, undone ones too
    # The share of the subsidy standard a credit voucher pays its holder (补贴比例), decided at claim.
    subsidy_ratio_percent: Mapped[int] = mapped_column(Integer, default=100, server_default="100")
    profile = mapped_column(JSONB)  # the holder as statistics counts them, passed on with each use; none before
    voided_at = mapped_column(DateTime(timezone=True))
    void_reason = mapped_column(Text)

    @property
    def terms(self):
        return self.template.terms


class InstitutionProjects(Base):
    """The training projects an institution may train for, as (occupation, skill level) pairs
    under ``projects`` (replicated from issuance's catalogue); an empty list: not limited.
    ``sequence`` is the issuance event's, so an older event never overwrites a newer list."""
    __tablename__ = "institution_projects"
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    projects = mapped_column(JSONB, nullable=False)
    sequence: Mapped[int] = mapped_column(Integer)


class TrainingClass(Base):
    __tablename__ = "classes"
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    region_code: Mapped[str] = mapped_column(String(6))
    occupation: Mapped[str] = mapped_column(Text)
    skill_level: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(8))


class QrKey(Base):
    """A key that signs voucher QR codes (Ed25519). ``active``: signs new codes and verifies;
    ``verifying``: an earlier key, still verifying codes made before the rotation; ``retired``:
    verifies nothing. The private key is kept sealed (AES-GCM, ``PII_ENCRYPTION_KEY``)."""
    __tablename__ = "qr_keys"
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(10))
    created_at = mapped_column(DateTime(timezone=True), server_default=func.now())
    retired_at = mapped_column(DateTime(timezone=True))
    __table_args__ = (
        # One key signs at a time, whatever the concurrency of rotations.
        Index("qr_keys_one_active", "status", unique=True, postgresql_where=text("status = 'active'")),
        CheckConstraint("status IN ('active', 'verifying', 'retired')", name="qr_keys_status"),
    )


class OfflineScan(Base):
    """A scan a device made offline and uploaded later (store and forward), with the answer it
    was given: a device's ``sequence`` numbers its scans, so an upload repeated gets the same
    answers and changes nothing."""
    __tablename__ = "offline_scans"
    device_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    scanned_at = mapped_column(DateTime(timezone=True), nullable=False)
    received_at = mapped_column(DateTime(timezone=True), server_default=func.now())
    outcome = mapped_column(JSONB, nullable=False)


class UseConflict(Base):
    """One voucher used at two places (offline scans uploaded late): the first use by scan time
    won; the other is kept here for the region's managers and the institution that lost."""
    __tablename__ = "use_conflicts"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    voucher_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    code: Mapped[str] = mapped_column(String(16))
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    winner = mapped_column(JSONB, nullable=False)  # {institution_id, class_id, device_id, used_at}
    loser = mapped_column(JSONB, nullable=False)
    loser_institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    reason: Mapped[str] = mapped_column(String(32))
    detected_at = mapped_column(DateTime(timezone=True), server_default=func.now())


class UseReversal(Base):
    """The audit of a use undone (撤销核验): a mistaken scan reversed by its institution within the
    template's grace window, or a later use that lost to an earlier offline scan."""
    __tablename__ = "use_reversals"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    voucher_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    used_at = mapped_column(DateTime(timezone=True), nullable=False)
    reason: Mapped[str] = mapped_column(String(32))
    reversed_by: Mapped[str] = mapped_column(Text)  # the gateway client, or "offline_conflict"
    reversed_at = mapped_column(DateTime(timezone=True), server_default=func.now())
