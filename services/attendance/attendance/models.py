"""Attendance's tables: classes and sessions replicated from issuance, check-ins and
completions decided here."""
import uuid

from sqlalchemy import BigInteger, DateTime, Float, Identity, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
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
    # A repeated check-in for the same session counts once.
    __table_args__ = (UniqueConstraint("session_id", "person_key", name="checkins_once_per_session"),)


class Completion(Base):
    """A trainee completed a class: attendance reached the class's threshold."""
    __tablename__ = "completions"
    class_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    person_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    attendance_rate: Mapped[float] = mapped_column(Float)
    completed_at = mapped_column(DateTime(timezone=True))
