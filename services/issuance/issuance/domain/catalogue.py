"""The training-project catalogue (培训项目目录) and what institutions may teach from it.

A project is an occupation (职业/工种, its GB/T 6565 code such as ``6-31-01-03``, electrician)
at a skill level (1, the highest, to 5), offered in a region at a subsidy standard in fen.
An institution may be limited to some projects; those must belong to its region, or to a
region containing it or inside it.
"""
import re

from common import regions
from common.errors import Forbidden, InvalidInput, RuleViolation

# GB/T 6565 (职业分类大典): major group, then two digits each for the middle, minor and unit
# groups; a work type (工种) may add two more.
OCCUPATION = re.compile(r"[1-8]-[0-9]{2}-[0-9]{2}-[0-9]{2}(-[0-9]{2})?")
SKILL_LEVELS = range(1, 6)  # 一级/高级技师 … 五级/初级工


def check_project(*, region_code, occupation, skill_level, subsidy_standard_fen):
    """Refuse a project that is not well formed, naming what to fix."""
    if not regions.is_valid(region_code):
        raise InvalidInput("invalid_region", "region_code must be a 6-digit administrative division code.")
    if not isinstance(occupation, str) or not OCCUPATION.fullmatch(occupation):
        raise InvalidInput("invalid_occupation", "occupation must be a GB/T 6565 occupation code such as 6-31-01-03.")
    if skill_level not in SKILL_LEVELS:
        raise InvalidInput("invalid_skill_level", "skill_level must be 1 to 5.")
    if not isinstance(subsidy_standard_fen, int) or subsidy_standard_fen <= 0:
        raise InvalidInput("subsidy_standard_required", "A project needs subsidy_standard_fen > 0 (in fen).")


def check_uploader_region(uploader_region, project_region):
    """A bureau adds projects to its own region's catalogue, or to a region inside it."""
    if not regions.contains(uploader_region, project_region):
        raise Forbidden("other_region", f"Region {project_region} is outside your region {uploader_region}.")


def check_allowed_project(institution_region, *, project_id, project_region):
    """An institution may be allowed a project of its own region, of a region containing it
    (a province's project for a county's institution) or of a region inside it."""
    if not (regions.contains(project_region, institution_region) or regions.contains(institution_region,
                                                                                      project_region)):
        raise RuleViolation("project_outside_region",
                            f"Project {project_id} belongs to region {project_region}, which neither contains nor "
                            f"lies inside the institution's region {institution_region}; choose a project of "
                            f"the institution's region.")
