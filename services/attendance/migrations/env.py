from common.alembic_env import run
from attendance.models import Base

run(Base.metadata)
