"""The Grafana dashboards are checked offline, against the code and the provisioning:

* every dashboard parses, has its own stable uid and unique panel ids, and panels that do not
  overlap;
* every panel and variable queries a datasource that ``deploy/grafana/provisioning`` creates;
* every metric a PromQL expression names is one the platform defines (a prometheus_client
  metric under common/, gateway/ or services/, with the suffixes the client adds) or one of a
  few RabbitMQ and Prometheus metrics: renaming a metric in the code fails here, not at 3 a.m.;
* the RabbitMQ panels get the per-queue series they select on.

Nothing is started: no Grafana, no Prometheus, no platform.
"""
import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
PROVISIONING = ROOT / "deploy/grafana/provisioning"
CODE = [ROOT / "common", ROOT / "gateway", ROOT / "services"]

# Exposed by something other than our code.
EXTERNAL_METRICS = {
    "up",  # Prometheus, per scrape target
    # RabbitMQ's rabbitmq_prometheus plugin, per queue (deploy/compose/rabbitmq/rabbitmq.conf)
    "rabbitmq_queue_messages",
    "rabbitmq_queue_messages_ready",
    "rabbitmq_queue_messages_unacked",
    "rabbitmq_queue_consumers",
}

# prometheus_client's constructors, and the series each exposes for a name.
SERIES = {
    "Counter": ("_total", "_created"),
    "CounterMetricFamily": ("_total",),
    "Gauge": ("",),
    "GaugeMetricFamily": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "HistogramMetricFamily": ("_bucket", "_sum", "_count"),
    "Summary": ("", "_sum", "_count", "_created"),
    "SummaryMetricFamily": ("", "_sum", "_count"),
    "Info": ("_info",),
    "Enum": ("",),
}
# `Counter("name", "documentation", ...)`: the documentation string tells prometheus_client's
# Counter from collections.Counter.
CONSTRUCTOR = re.compile(
    r"\b(?P<kind>" + "|".join(SERIES) + r")\(\s*(?:name\s*=\s*)?(?P<q>[\"'])(?P<name>[a-zA-Z_:][\w:]*)(?P=q)"
    r"\s*,\s*(?:documentation\s*=\s*)?[\"']")

PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset",
                   "and", "or", "unless", "inf", "nan"}
GRAFANA_VARIABLES = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                     "__range_ms", "__all", "__auto"}


# --- what the code defines -----------------------------------------------------------------

def defined_metrics():
    """Every series name the platform's own code can expose."""
    names = set()
    for directory in CODE:
        for path in directory.rglob("*.py"):
            if "tests" in path.relative_to(ROOT).parts:
                continue
            for match in CONSTRUCTOR.finditer(path.read_text(errors="replace")):
                kind, name = match["kind"], match["name"]
                if kind.startswith("Counter"):
                    name = name.removesuffix("_total")  # the client adds it back
                names |= {name + suffix for suffix in SERIES[kind]}
    return names


# --- what the dashboards use ---------------------------------------------------------------

def metric_names(expr):
    """The metric names a PromQL expression selects (functions, labels and keywords are not)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)  # string literals
    expr = re.sub(r"\$\{?\w+(?::\w+)?\}?", " ", expr)  # Grafana variables
    expr = re.sub(r"\{[^{}]*\}", " ", expr)  # label matchers
    expr = re.sub(r"\[[^\[\]]*\]", " ", expr)  # ranges and subqueries
    expr = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", " ", expr)
    expr = re.sub(r"\boffset\s+-?\w+", " ", expr)
    names = set()
    for match in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)(\s*\()?", expr):
        name, called = match.groups()
        if not called and name.lower() not in PROMQL_KEYWORDS:
            names.add(name)
    return names


def variable_metric(query):
    """``label_values(metric{...}, label)`` -> metric; ``label_values(label)`` -> None."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*\w+\s*\)\s*", query)
    return match and metric_names(match.group(1))


def load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def all_panels(dashboard):
    """Top-level panels and those inside collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def queries(dashboard):
    """(where, expr) for every panel target and every query variable."""
    for panel in all_panels(dashboard):
        for target in panel.get("targets", []):
            yield f"panel {panel.get('title')!r} {target.get('refId')}", target["expr"]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            yield f"variable ${variable['name']}", query["query"] if isinstance(query, dict) else query


def provisioned_datasources():
    found = {}
    for path in sorted((PROVISIONING / "datasources").glob("*.y*ml")):
        for source in yaml.safe_load(path.read_text()).get("datasources", []):
            found[source["uid"]] = source["type"]
    return found


@pytest.fixture(scope="module")
def metrics():
    return defined_metrics() | EXTERNAL_METRICS


# --- the checker checks ---------------------------------------------------------------------

def test_metric_names_are_read_from_promql():
    expr = ('histogram_quantile(0.99, sum by (service, le) (rate(entrypoint_latency_seconds_bucket'
            '{service=~"$service", entrypoint!="x(y)"}[$__rate_interval])))\n'
            '/ on (service) group_left sum(up offset 5m) or vector(0) > bool 1')
    assert metric_names(expr) == {"entrypoint_latency_seconds_bucket", "up"}
    assert metric_names('topk(10, sum by (queue) (rabbitmq_queue_messages_ready{queue!~".*\\\\.dead"}))') \
        == {"rabbitmq_queue_messages_ready"}
    assert variable_metric("label_values(business_vouchers{state=\"issued\"}, province)") == {"business_vouchers"}


def test_the_code_defines_the_metrics_the_platform_exposes():
    defined = defined_metrics()
    assert {"entrypoint_calls_total", "entrypoint_errors_total", "entrypoint_latency_seconds_bucket",
            "outbox_backlog", "outbox_oldest_unsent_age_seconds", "outbox_events_published_total",
            "outbox_relay_failures_total", "event_lag_seconds_bucket"} <= defined
    # Histograms expose only their suffixed series; collections.Counter is not a metric.
    assert "entrypoint_latency_seconds" not in defined
    assert "entrypoint_calls_total_total" not in defined


def test_a_renamed_metric_is_reported(metrics):
    assert metric_names("rate(entrypoint_calls_totl[5m])") - metrics == {"entrypoint_calls_totl"}
    assert metric_names("outbox_backlog_total") - metrics == {"outbox_backlog_total"}


# --- the dashboards -------------------------------------------------------------------------

def test_there_are_dashboards():
    assert DASHBOARDS


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_parses_and_is_identified(path):
    dashboard = load(path)
    assert re.fullmatch(r"[a-z0-9-]{1,40}", dashboard.get("uid", "")), f"{path.name}: uid must be stable and short"
    assert dashboard.get("title")
    assert dashboard.get("id") is None, f"{path.name}: an exported id clashes with Grafana's own"
    assert isinstance(dashboard.get("panels"), list) and dashboard["panels"]


def test_uids_and_titles_are_unique_across_dashboards():
    dashboards = [load(path) for path in DASHBOARDS]
    uids = [dashboard["uid"] for dashboard in dashboards]
    titles = [dashboard["title"] for dashboard in dashboards]
    assert len(uids) == len(set(uids)), uids
    assert len(titles) == len(set(titles)), titles


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_panel_ids_are_unique(path):
    ids = [panel.get("id") for panel in all_panels(load(path))]
    assert None not in ids, f"{path.name}: a panel has no id"
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert not duplicates, f"{path.name}: panel ids {duplicates} are used twice"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_panels_fit_the_grid_and_do_not_overlap(path):
    placed = []
    for panel in load(path)["panels"]:
        grid = panel["gridPos"]
        x, y, w, h = grid["x"], grid["y"], grid["w"], grid["h"]
        assert 0 <= x and x + w <= 24 and w > 0 and h > 0, f"{path.name}: {panel['title']!r} leaves the grid"
        for title, (x2, y2, w2, h2) in placed:
            overlap = x < x2 + w2 and x2 < x + w and y < y2 + h2 and y2 < y + h
            assert not overlap, f"{path.name}: {panel['title']!r} overlaps {title!r}"
        placed.append((panel["title"], (x, y, w, h)))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_every_panel_tells_the_operator_what_to_do(path):
    for panel in all_panels(load(path)):
        if panel["type"] != "row":
            assert panel.get("title") and len(panel.get("description", "")) > 40, \
                f"{path.name}: {panel.get('title')!r} needs a description saying what to do when it goes red"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_every_datasource_is_provisioned(path):
    provisioned = provisioned_datasources()
    assert provisioned, "no datasource under deploy/grafana/provisioning/datasources"
    dashboard = load(path)
    references = []
    for panel in all_panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel.get("targets"), f"{path.name}: {panel['title']!r} queries nothing"
        references.append((panel["title"], panel.get("datasource")))
        references += [(f"{panel['title']} {target.get('refId')}", target.get("datasource"))
                       for target in panel["targets"]]
    references += [(f"${variable['name']}", variable.get("datasource"))
                   for variable in dashboard.get("templating", {}).get("list", []) if variable["type"] == "query"]
    for where, reference in references:
        assert isinstance(reference, dict), f"{path.name}: {where} names no datasource (or only by name)"
        assert provisioned.get(reference.get("uid")) == reference.get("type"), \
            f"{path.name}: {where} uses datasource {reference}, provisioned are {provisioned}"


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_every_metric_in_an_expression_exists(path, metrics):
    unknown = []
    for where, expr in queries(load(path)):
        used = variable_metric(expr) if expr.lstrip().startswith("label_values(") else metric_names(expr)
        assert used, f"{path.name}: {where} selects no metric: {expr!r}"
        unknown += [f"{where}: {name}" for name in sorted(used - metrics)]
    assert not unknown, (f"{path.name}: metrics that nothing exposes (renamed? a suffix missing?):\n  "
                         + "\n  ".join(unknown))


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_every_variable_an_expression_uses_is_defined(path):
    dashboard = load(path)
    defined = {variable["name"] for variable in dashboard.get("templating", {}).get("list", [])}
    for where, expr in queries(dashboard):
        used = set(re.findall(r"\$\{?([a-zA-Z_]\w*)", expr)) - GRAFANA_VARIABLES
        assert used <= defined, f"{path.name}: {where} uses undefined variables {sorted(used - defined)}"


def test_business_panels_filter_by_province():
    for path in DASHBOARDS:
        dashboard = load(path)
        business = [(where, expr) for where, expr in queries(dashboard)
                    if any(name.startswith("business_") for name in metric_names(expr))
                    and not where.startswith("variable")]
        if not business:
            continue
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        assert "province" in variables, f"{path.name}: business panels need a $province variable"
        assert variables["province"]["query"]["query"].startswith("label_values(")
        for where, expr in business:
            assert 'province=~"$province"' in expr, f"{path.name}: {where} ignores $province"


def test_queue_panels_get_per_queue_series():
    """rabbitmq_prometheus sums over queues unless told otherwise; `queue` then does not exist."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    mounted = [volume.split(":")[0] for volume in compose["services"]["rabbitmq"]["volumes"]]
    config = "\n".join((ROOT / source).read_text() for source in mounted
                       if source.startswith("./") and (ROOT / source).is_file())
    per_object = re.search(r"^\s*prometheus\.return_per_object_metrics\s*=\s*true\s*$", config, re.MULTILINE)
    prometheus = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    scraped_per_object = any(job.get("metrics_path") == "/metrics/per-object" for job in prometheus["scrape_configs"])
    assert per_object or scraped_per_object
