"""Declare every consumer's queues before any service publishes: run once per deploy,
after migrations (``python -m common.topology``)."""
import importlib
import os

from common.events import declare_topology

SERVICES = ("issuance", "redemption", "attendance", "settlement", "statistics")
PACKAGES = {"statistics": "stats"}  # the standard library owns "statistics"


def service_classes():
    classes = []
    for name in SERVICES:
        module = importlib.import_module(f"{PACKAGES.get(name, name)}.service")
        classes.extend(obj for obj in vars(module).values()
                       if isinstance(obj, type) and getattr(obj, "name", None) == name)
    return classes


if __name__ == "__main__":
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    declare_topology(amqp_uri, service_classes())
    print(f"declared queues for {', '.join(SERVICES)}")
