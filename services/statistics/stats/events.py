"""Statistics publishes no events: it owns only derived data, rebuilt from others' events."""
SCHEMAS = {}
