from common.alembic_env import run
from stats.models import Base

run(Base.metadata)
