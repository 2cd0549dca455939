"""The deployment files are checked before anything is deployed, offline:

* every document in ``deploy/k8s/`` against the Kubernetes JSON schemas (strict: unknown
  fields fail), which the ``kubernetes-validate`` package bundles for each Kubernetes release;
* ``docker-compose.yml`` against the Compose Specification's JSON schema
  (compose-spec/compose-spec ``schema/compose-spec.json``), as vendored in the
  ``check-jsonschema`` package;

and then what the schemas cannot say: every Deployment has probes, resource limits, a non-root
security context, and replicas spread over nodes under a disruption budget; every service has
its Deployment, Service and migration Job; no Secret in the repository holds anything but
placeholders; and compose, Prometheus and Grafana agree with each other on names and ports.
"""
import base64
import binascii
import json
import os
import re
from importlib import resources
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
COMPOSE = ROOT / "docker-compose.yml"
# The oldest Kubernetes release the manifests must be accepted by.
KUBERNETES_VERSION = "1.30.0"
# WEB_SERVER_ADDRESS ports, and what `nameko run` is given, from the platform's contract.
SERVICES = {
    "gateway": (8000, "/app/gateway", "gateway.service:GatewayService"),
    "issuance": (8001, "/app/services/issuance", "issuance.service:IssuanceService"),
    "redemption": (8002, "/app/services/redemption", "redemption.service:RedemptionService"),
    "attendance": (8003, "/app/services/attendance", "attendance.service:AttendanceService"),
    "settlement": (8004, "/app/services/settlement", "settlement.service:SettlementService"),
    "statistics": (8005, "/app/services/statistics", "stats.service:StatisticsService"),
}
METRICS = ("entrypoint_calls_total", "entrypoint_errors_total", "entrypoint_latency_seconds_bucket",
           "outbox_backlog", "outbox_oldest_unsent_age_seconds")
# What a Secret committed to the repository may hold.
PLACEHOLDER = re.compile(r"^(change-?me|changeme|CHANGE_?ME|<[^<>]+>|)$")
NOT_SCANNED = {".git", ".venv", ".run", ".pytest_cache", "node_modules", "__pycache__"}


# --- loading ------------------------------------------------------------------------------

def load_documents(path):
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


def k8s_documents():
    """(file name, document) for every Kubernetes object under deploy/k8s."""
    return [(path.name, doc)
            for path in sorted(K8S.glob("*.y*ml")) if path.name != "kustomization.yaml"
            for doc in load_documents(path)]


def doc_id(item):
    name, doc = item
    return f"{name}:{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


DOCUMENTS = k8s_documents()


def objects(kind):
    return {doc["metadata"]["name"]: doc for _, doc in DOCUMENTS if doc["kind"] == kind}


def pod_containers(pod_spec):
    return pod_spec.get("initContainers", []) + pod_spec["containers"]


def env_of(container):
    return {item["name"]: item.get("value") for item in container.get("env", [])}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load(COMPOSE.read_text())  # resolves the file's YAML anchors and merge keys


@pytest.fixture(scope="module")
def compose_schema():
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    return json.loads(schema_file.read_text(encoding="utf-8"))


# --- Kubernetes: schemas ------------------------------------------------------------------

def test_there_are_manifests_to_validate():
    kinds = {doc["kind"] for _, doc in DOCUMENTS}
    assert {"Namespace", "ConfigMap", "Secret", "Deployment", "Service", "Job"} <= kinds


@pytest.mark.parametrize("item", DOCUMENTS, ids=[doc_id(item) for item in DOCUMENTS])
def test_manifest_matches_kubernetes_schema(item):
    name, doc = item
    problem = None
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(part) for part in error.path) or "(document)"
        problem = (f"{name}: {doc['kind']}/{doc['metadata'].get('name')} is not a valid "
                   f"Kubernetes {error.version} object at {path}: {error.message}")
    except kubernetes_validate.SchemaNotFoundError as error:  # an unknown kind or apiVersion
        problem = f"{name}: {error.message}"
    if problem:
        pytest.fail(problem)


def test_kustomization_lists_every_manifest_but_the_secret_template():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == "vouchers"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed)), "a resource is listed twice"
    on_disk = {path.name for path in K8S.glob("*.y*ml")} - {"kustomization.yaml"}
    assert "secret.example.yaml" not in listed, "applying the template would overwrite the real Secret"
    assert set(listed) == on_disk - {"secret.example.yaml"}
    assert not kustomization.get("secretGenerator"), "secrets are created with kubectl, not from the repository"
    assert any(image["name"] == "voucher-platform" for image in kustomization.get("images", []))


def test_every_object_lives_in_the_vouchers_namespace():
    assert objects("Namespace").keys() == {"vouchers"}
    for name, doc in DOCUMENTS:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == "vouchers", doc_id((name, doc))


# --- Kubernetes: what the schemas cannot say ----------------------------------------------

@pytest.mark.parametrize("service", SERVICES)
def test_every_service_has_deployment_service_and_migration_job(service):
    port, workdir, module = SERVICES[service]
    deployment = objects("Deployment")[service]
    spec = deployment["spec"]["template"]["spec"]
    container = next(c for c in spec["containers"] if c["name"] == service)
    assert container["image"].split(":")[0] == "voucher-platform"
    assert container["workingDir"] == workdir
    assert container["command"] == ["nameko", "run", "--config", "config.yml", module]
    assert [p["containerPort"] for p in container["ports"]] == [port]
    env = env_of(container)
    assert env["WEB_SERVER_ADDRESS"] == f"0.0.0.0:{port}"
    assert env["DATABASE_URL"].startswith("postgresql+psycopg2://")
    assert env["DATABASE_URL"].endswith(f"/vt_{service}")
    assert env["AMQP_URI"].startswith("amqp://")
    sources = {next(iter(ref)): next(iter(ref.values()))["name"] for ref in container["envFrom"]}
    assert sources == {"configMapRef": "vouchers-config", "secretRef": "vouchers-secrets"}
    assert deployment["metadata"]["labels"]["app.kubernetes.io/name"] == service

    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    k8s_service = objects("Service")[service]
    assert k8s_service["spec"]["selector"] == selector
    assert [p["port"] for p in k8s_service["spec"]["ports"]] == [port]

    job = objects("Job")[f"{service}-migrate"]
    migrate = job["spec"]["template"]["spec"]["containers"][0]
    assert migrate["workingDir"] == workdir
    assert migrate["command"] == ["alembic", "-c", "alembic.ini", "upgrade", "head"]
    assert env_of(migrate)["DATABASE_URL"] == env["DATABASE_URL"]


@pytest.mark.parametrize("service", SERVICES)
def test_deployed_commands_match_the_source_tree(service):
    """The working directories and `nameko run` targets above exist in the repository."""
    port, workdir, module = SERVICES[service]
    directory = ROOT / workdir.removeprefix("/app/")
    assert (directory / "alembic.ini").is_file() and (directory / "migrations").is_dir()
    config = (directory / "config.yml").read_text()
    assert re.search(rf"WEB_SERVER_ADDRESS:.*:{port}\}}", config), f"{service}'s config.yml has another port"
    module_path, class_name = module.split(":")
    source = directory / (module_path.replace(".", "/") + ".py")
    assert re.search(rf"^class {class_name}\b", source.read_text(), re.MULTILINE), f"{module} not found"
    assert re.search(rf"^\s+name = \"{service}\"", source.read_text(), re.MULTILINE)


def test_topology_job_declares_the_queues():
    job = objects("Job")["topology"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["command"] == ["python", "-m", "common.topology"]
    assert env_of(container)["AMQP_URI"].startswith("amqp://")


def test_configmap_holds_no_credentials():
    for name, config_map in objects("ConfigMap").items():
        for key in config_map.get("data", {}):
            assert not re.search(r"PASSWORD|SECRET|TOKEN|KEY", key), f"ConfigMap {name} holds {key}: use the Secret"


@pytest.mark.parametrize("name", sorted(objects("Deployment")))
def test_deployment_is_probed_limited_and_unprivileged(name):
    deployment = objects("Deployment")[name]
    spec = deployment["spec"]["template"]["spec"]
    assert 20 <= spec.get("terminationGracePeriodSeconds", 0) <= 60, "nameko needs time to drain on SIGTERM"
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] == dockerfile_user()
    for container in spec["containers"]:
        port = container["ports"][0]["name"]
        readiness = container.get("readinessProbe", {}).get("httpGet", {})
        liveness = container.get("livenessProbe", {}).get("httpGet", {})
        assert (readiness.get("path"), readiness.get("port")) == ("/health/ready", port), \
            f"{container['name']}: readiness probe must be GET /health/ready"
        assert (liveness.get("path"), liveness.get("port")) == ("/health/live", port), \
            f"{container['name']}: liveness probe must be GET /health/live"
    assert_limited_and_unprivileged(spec)


@pytest.mark.parametrize("name", sorted(objects("Deployment")))
def test_replicas_are_spread_over_nodes_and_evicted_one_at_a_time(name):
    """Two replicas at least, which tests/test_replicas.py shows carry each other's work, on
    different nodes where the cluster has them, and never both evicted by a drain."""
    deployment = objects("Deployment")[name]
    pods = deployment["spec"]["selector"]["matchLabels"]
    assert deployment["spec"]["replicas"] >= 2
    assert pods.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    [spread] = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert (spread["topologyKey"], spread["maxSkew"], spread["labelSelector"]["matchLabels"]) == (
        "kubernetes.io/hostname", 1, pods)
    budget = objects("PodDisruptionBudget")[name]["spec"]
    assert budget["selector"]["matchLabels"] == pods
    assert budget.get("maxUnavailable") == 1 or budget.get("minAvailable", 0) >= 1, budget


@pytest.mark.parametrize("name", sorted(objects("Job")))
def test_job_is_limited_and_unprivileged(name):
    spec = objects("Job")[name]["spec"]["template"]["spec"]
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert_limited_and_unprivileged(spec)


def assert_limited_and_unprivileged(pod_spec):
    for container in pod_containers(pod_spec):
        resources_ = container.get("resources", {})
        for bound in ("requests", "limits"):
            missing = {"cpu", "memory"} - set(resources_.get(bound, {}))
            assert not missing, f"{container['name']}: no {bound} for {', '.join(sorted(missing))}"
        security = container.get("securityContext", {})
        assert security.get("allowPrivilegeEscalation") is False, container["name"]
        assert security.get("capabilities", {}).get("drop") == ["ALL"], container["name"]


# --- Secrets ------------------------------------------------------------------------------

def repository_files(*suffixes):
    for directory, subdirectories, files in os.walk(ROOT):
        subdirectories[:] = [name for name in subdirectories if name not in NOT_SCANNED]
        for name in files:
            if name.endswith(suffixes):
                yield Path(directory, name)


def repository_secrets():
    found = []
    for path in repository_files(".yaml", ".yml", ".json"):
        text = path.read_text(errors="replace")
        if not re.search(r"""["']?kind["']?\s*:\s*["']?Secret\b""", text):
            continue
        for doc in yaml.safe_load_all(text):  # JSON is YAML; a Secret that does not parse fails here
            if isinstance(doc, dict) and doc.get("kind") == "Secret":
                found.append((path.relative_to(ROOT), doc))
    return found


def test_secrets_in_the_repository_hold_only_placeholders():
    secrets = repository_secrets()
    assert secrets, "expected at least deploy/k8s/secret.example.yaml"
    for path, secret in secrets:
        values = dict(secret.get("stringData") or {})
        for key, encoded in (secret.get("data") or {}).items():
            try:
                values[key] = base64.b64decode(encoded, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                pytest.fail(f"{path}: data.{key} is not a base64-encoded placeholder")
        assert values, f"{path}: a Secret template should name its keys"
        for key, value in values.items():
            assert PLACEHOLDER.match(str(value)), f"{path}: {key} holds a value, not a placeholder such as change-me"


def test_secret_template_names_every_key_the_deployments_use():
    template = objects("Secret")["vouchers-secrets"]
    referenced = set()
    for deployment in objects("Deployment").values():
        for container in pod_containers(deployment["spec"]["template"]["spec"]):
            referenced |= set(re.findall(r"\$\((\w+)\)", " ".join(v or "" for v in env_of(container).values())))
    config = objects("ConfigMap")["vouchers-config"]["data"]
    assert referenced - set(config) <= set(template["stringData"])
    assert {"PERSON_KEY_SECRET", "PII_ENCRYPTION_KEY"} <= set(template["stringData"])


# --- docker-compose.yml -------------------------------------------------------------------

def test_compose_file_matches_compose_specification(compose, compose_schema):
    validator_class = jsonschema.validators.validator_for(compose_schema)
    validator_class.check_schema(compose_schema)
    errors = sorted(validator_class(compose_schema).iter_errors(compose), key=lambda e: list(e.absolute_path))
    assert not errors, "docker-compose.yml does not match the Compose Specification:\n" + "\n".join(
        f"  {'.'.join(map(str, error.absolute_path)) or '(top level)'}: {error.message}" for error in errors)


def interpolated_default(value):
    """``${VAR:-default}`` -> default; anything else unchanged."""
    match = re.fullmatch(r"\$\{\w+:-(.*)\}", str(value))
    return match.group(1) if match else value


@pytest.mark.parametrize("service", SERVICES)
def test_compose_app_service(compose, service):
    port, workdir, module = SERVICES[service]
    spec = compose["services"][service]
    assert spec["image"] == "voucher-platform:latest"
    assert spec["working_dir"] == workdir
    assert spec["command"] == ["nameko", "run", "--config", "config.yml", module]
    env = spec["environment"]
    assert env["WEB_SERVER_ADDRESS"] == f"0.0.0.0:{port}"
    assert env["DATABASE_URL"].endswith(f"@postgres:5432/vt_{service}")
    assert env["AMQP_URI"].startswith("amqp://") and "@rabbitmq:5672" in env["AMQP_URI"]
    assert interpolated_default(env["PERSON_KEY_SECRET"]).startswith("dev-only")
    key = base64.urlsafe_b64decode(interpolated_default(env["PII_ENCRYPTION_KEY"]))
    assert len(key) == 32 and key.startswith(b"dev-only"), "PII_ENCRYPTION_KEY: urlsafe base64 of 32 bytes"
    assert f"127.0.0.1:{port}/health/ready" in " ".join(spec["healthcheck"]["test"])
    assert spec["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert spec["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert spec["stop_grace_period"] == "30s"


def test_compose_migrate_runs_every_migration_then_the_topology(compose):
    migrate = compose["services"]["migrate"]
    script = " ".join(migrate["command"])
    for service in SERVICES:
        assert service in script
    assert "alembic -c alembic.ini upgrade head" in script
    assert script.rstrip().endswith("python -m common.topology")
    assert migrate["restart"] == "no"


def test_compose_dependencies_and_mounts_exist(compose):
    services = compose["services"]
    for name, spec in services.items():
        depends_on = spec.get("depends_on", {})
        assert set(depends_on) <= set(services), f"{name} depends on an undefined service"
        for volume in spec.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which does not exist"
    assert services["rabbitmq"]["image"] == "rabbitmq:3.13-management"
    assert services["postgres"]["image"] == "postgres:15"
    assert "healthcheck" in services["rabbitmq"] and "healthcheck" in services["postgres"]


def test_compose_postgres_creates_every_database():
    sql = "\n".join(path.read_text() for path in sorted((ROOT / "deploy/compose/initdb").iterdir()))
    created = set(re.findall(r"CREATE DATABASE\s+\"?(\w+)", sql, re.IGNORECASE))
    assert created == {f"vt_{service}" for service in SERVICES}


def test_prometheus_scrapes_every_service_and_rabbitmq():
    config = yaml.safe_load((ROOT / "deploy/prometheus/prometheus.yml").read_text())
    targets = {target for job in config["scrape_configs"]
               for static in job.get("static_configs", []) for target in static["targets"]}
    assert {f"{service}:{port}" for service, (port, _, _) in SERVICES.items()} | {"rabbitmq:15692"} <= targets


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard(compose):
    provisioning = ROOT / "deploy/grafana/provisioning"
    datasources = yaml.safe_load((provisioning / "datasources/prometheus.yml").read_text())["datasources"]
    prometheus = next(source for source in datasources if source["type"] == "prometheus")
    assert prometheus["url"] == "http://prometheus:9090"

    provider = yaml.safe_load((provisioning / "dashboards/dashboards.yml").read_text())["providers"][0]
    mounts = dict(volume.split(":")[:2] for volume in compose["services"]["grafana"]["volumes"])
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"

    dashboards = sorted((ROOT / "deploy/grafana/dashboards").glob("*.json"))
    assert dashboards
    expressions = []
    for path in dashboards:
        dashboard = json.loads(path.read_text())
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] == prometheus["uid"], f"{path.name}: {panel['title']}"
                expressions.append(target["expr"])
    for metric in METRICS:
        assert any(metric in expr for expr in expressions), f"no panel shows {metric}"
    assert any("histogram_quantile(0.99" in expr for expr in expressions)


# --- image --------------------------------------------------------------------------------

def dockerfile_user():
    users = re.findall(r"^USER\s+(\d+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert users, "the Dockerfile must switch to a numeric user (runAsNonRoot checks it)"
    return int(users[-1])


def test_dockerfile_installs_everything_and_runs_unprivileged():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", dockerfile, re.MULTILINE)
    assert "pip install -r requirements.txt" in dockerfile
    for package in ["./common", "./gateway"] + [f"./services/{s}" for s in SERVICES if s != "gateway"]:
        assert package in dockerfile, f"the image does not install {package}"
    assert dockerfile_user() != 0
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".git", ".run"} <= ignored and any("__pycache__" in entry for entry in ignored)


def test_the_gateway_knows_how_many_replicas_share_a_clients_rate():
    """Each replica enforces its share of a client's rate limit (ADR 0005)."""
    gateway = next(doc for _, doc in k8s_documents()
                   if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "gateway")
    container = gateway["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert int(env["GATEWAY_REPLICAS"]) == gateway["spec"]["replicas"]
