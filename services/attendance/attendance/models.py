"""Attendance's tables: classes and sessions replicated from issuance, check-ins and
completions decided here."""
import uuid

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, Float, Identity, Index, Integer, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class TrainingClass(Base):
    __tablename__ = "classes"
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    region_code: Mapped[str] = mapped_column(String(6), index=True)
    mode: Mapped[str] = mapped_column(String(8))
    completion_threshold: Mapped[float] = mapped_column(Float)
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    radius_m: Mapped[int] = mapped_column(Integer)
    # The issuance event's sequence for this class: a schedule change applies only over an older one.
    schedule_seq: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class ClassSession(Base):
    __tablename__ = "sessions"
    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    starts_at = mapped_column(DateTime(timezone=True))
    ends_at = mapped_column(DateTime(timezone=True))


class Enrolment(Base):
    __tablename__ = "enrolments"
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), primary_key=True)


class CheckIn(Base):
    __tablename__ = "checkins"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    person_key: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(12))
    latitude = mapped_column(Float)
    longitude = mapped_column(Float)
    accuracy_m = mapped_column(Float)
    distance_m = mapped_column(Float)
    checked_in_at = mapped_column(DateTime(timezone=True))
    device = mapped_column(Text)  # the phone's fingerprint, or the scanner that read the trainee's card
    __table_args__ = (
        # A repeated check-in for the same session counts once.
        UniqueConstraint("session_id", "person_key", name="checkins_once_per_session"),
        # A trainee's latest located check-in, for the travel between consecutive ones.
        Index("checkins_located_by_trainee", "person_key", "checked_in_at",
              postgresql_where=text("latitude IS NOT NULL")),
    )


class Completion(Base):
    """A trainee completed a class: attendance reached the class's threshold."""
    __tablename__ = "completions"
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    attendance_rate: Mapped[float] = mapped_column(Float)
    completed_at = mapped_column(DateTime(timezone=True))


class VoucherUse(Base):
    """A voucher used for a class (from redemption): its holder may check in there. ``use_seq``
    orders uses and reversals arriving in any order (ADR 0007)."""
    __tablename__ = "voucher_uses"
    voucher_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    person_key: Mapped[str] = mapped_column(String(64))
    use_seq: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    __table_args__ = (Index("voucher_uses_of_trainee", "class_id", "person_key", postgresql_where=text("active")),)


class Attempt(Base):
    """A check-in refused because no session of the class was open: the evidence of training
    outside the registered schedule."""
    __tablename__ = "attempts"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    person_key: Mapped[str] = mapped_column(String(64))
    at = mapped_column(DateTime(timezone=True), nullable=False)
    __table_args__ = (Index("attempts_by_class", "class_id", "at"),)


class Anomaly(Base):
    """An abnormal check-in pattern (异常签到) for a region's managers, with its evidence; each is
    confirmed or dismissed by a manager with a reason. ``subject`` identifies the finding within
    its kind, so that the same finding is stored once."""
    __tablename__ = "anomalies"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(24))
    subject: Mapped[str] = mapped_column(Text)
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    session_id = mapped_column(UUID(as_uuid=True))
    institution_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    region_code: Mapped[str] = mapped_column(String(6))
    evidence = mapped_column(JSONB, nullable=False)
    status: Mapped[str] = mapped_column(String(10), default="open")  # open | confirmed | dismissed
    reason = mapped_column(Text)
    decided_by = mapped_column(Text)
    decided_at = mapped_column(DateTime(timezone=True))
    detected_at = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (UniqueConstraint("kind", "subject", name="anomalies_found_once"),
                      CheckConstraint("status IN ('open', 'confirmed', 'dismissed')", name="anomalies_status"),
                      Index("anomalies_by_region", "region_code", "detected_at"))


class Evaluation(Base):
    """A trainee's rating of a class they completed (培训评价): once each, counted by statistics for
    the evaluation completion rate. Aspects are codes, never free text that could carry a name."""
    __tablename__ = "evaluations"
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    rating: Mapped[int] = mapped_column(Integer)
    aspects = mapped_column(JSONB, nullable=False)
    evaluated_at = mapped_column(DateTime(timezone=True), nullable=False)
    __table_args__ = (CheckConstraint("rating BETWEEN 1 AND 5", name="evaluations_rating"),)
