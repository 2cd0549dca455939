"""docs/events.md says what the code publishes and consumes."""
import importlib
import sys
from pathlib import Path

from common.events import subscriptions_of
from common.topology import PACKAGES, service_classes

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import event_catalogue  # noqa: E402


def test_the_event_catalogue_is_current():
    written = (ROOT / "docs" / "events.md").read_text()
    assert written.strip() == event_catalogue.render().strip(), "run: python scripts/event_catalogue.py > docs/events.md"


def test_every_consumed_event_is_published_by_its_source():
    for cls in service_classes():
        for source, event_type, method in subscriptions_of(cls):
            published = importlib.import_module(f"{PACKAGES.get(source, source)}.events").SCHEMAS
            assert event_type in published, f"{cls.name}.{method} waits for {source}.{event_type}, never published"
