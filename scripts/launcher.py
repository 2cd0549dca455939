"""Bring the whole platform up on this machine, or down.

    python scripts/launcher.py up   [--profile dev|test] [--replicas N]
    python scripts/launcher.py down [--profile dev|test]
    python scripts/launcher.py status
    python scripts/launcher.py gateway-cli add-client --role manager --region 430000 --name "Hunan HR"
    python scripts/launcher.py redemption-cli rotate-qr-key

A profile is a set of databases, a RabbitMQ virtual host and ports, so that the test
suite's platform never meets a developer's running one. Each service runs as its own
``nameko run`` process; pids and logs live in ``.run/<profile>/``.

``--replicas N`` runs N processes of every service, as deploy/k8s does (replicas: 2): the second
process of a service is named ``<service>-2`` and listens 10 ports above the first.
"""
import argparse
import base64
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
SERVICES = {  # name: (directory, module, port offset)
    "issuance": ("services/issuance", "issuance.service:IssuanceService", 1),
    "redemption": ("services/redemption", "redemption.service:RedemptionService", 2),
    "attendance": ("services/attendance", "attendance.service:AttendanceService", 3),
    "settlement": ("services/settlement", "settlement.service:SettlementService", 4),
    "statistics": ("services/statistics", "stats.service:StatisticsService", 5),
    "gateway": ("gateway", "gateway.service:GatewayService", 0),
}
OPERATOR_CLIS = {"gateway-cli": ("gateway", "gateway.cli"), "redemption-cli": ("redemption", "redemption.cli")}
PROFILES = {
    "dev": {"db_prefix": "vt_", "vhost": "/", "base_port": 8000},
    # The test profile starts from nothing each time, as CI does: tests count what they made.
    "test": {"db_prefix": "vt_test_", "vhost": "vt_test", "base_port": 18000, "disposable": True,
             "env": {"RPC_TIMEOUT": "3", "EVENT_MAX_ATTEMPTS": "3", "EXPIRY_INTERVAL": "1", "JOB_CHUNK": "1000",
                     "QR_KEY_CACHE_SECONDS": "0", "ANOMALY_INTERVAL": "1",
                     "DUAL_APPROVAL_FEN": "150000"}},  # above 1,500 yuan: small enough for a test's claims
}
# eventlet warns on every import that it is in maintenance mode; ADR 0001 says why we accept it.
QUIET_WARNINGS = "ignore::Warning:nameko.cli.commands,ignore::Warning:nameko.containers,ignore::Warning:nameko.messaging,ignore::Warning:nameko.extensions"
PG = dict(host=os.environ.get("PGHOST", "127.0.0.1"), port=int(os.environ.get("PGPORT", 5432)),
          user=os.environ.get("PGUSER", "postgres"))
AMQP_HOST, AMQP_PORT = os.environ.get("AMQP_HOST", "127.0.0.1"), int(os.environ.get("AMQP_PORT", 5672))


def say(message):
    print(message, flush=True)


REPLICA_PORT_STEP = 10


def service_of(process):
    """``redemption-2`` is the second replica of ``redemption``; ``redemption`` is the first."""
    name, _, replica = process.rpartition("-")
    return (name, int(replica)) if name in SERVICES and replica.isdigit() else (process, 1)


def process_names(replicas=1):
    return [name if n == 1 else f"{name}-{n}" for n in range(1, replicas + 1) for name in SERVICES]


def run_dir(profile):
    path = ROOT / ".run" / profile
    path.mkdir(parents=True, exist_ok=True)
    return path


def reachable(host, port):
    try:
        socket.create_connection((host, port), timeout=2).close()
        return True
    except OSError:
        return False


def check_dependencies():
    missing = []
    if not reachable(PG["host"], PG["port"]):
        missing.append(f"PostgreSQL is not reachable at {PG['host']}:{PG['port']}. Start it with:\n"
                       "    pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start")
    if not reachable(AMQP_HOST, AMQP_PORT):
        missing.append(f"RabbitMQ is not reachable at {AMQP_HOST}:{AMQP_PORT}. Start it with:\n"
                       "    rabbitmq-server -detached")
    if missing:
        say("\n".join(missing))
        sys.exit(2)


def secrets_env(profile):
    """Per-machine secrets, generated once and never committed (Kubernetes: a Secret)."""
    path = run_dir(profile) / "secrets.env"
    if not path.exists():
        path.write_text(f"PERSON_KEY_SECRET={secrets.token_urlsafe(32)}\n"
                        f"PII_ENCRYPTION_KEY={base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()}\n")
        path.chmod(0o600)
    return dict(line.split("=", 1) for line in path.read_text().split())


def port(profile, process):
    name, replica = service_of(process)
    return PROFILES[profile]["base_port"] + SERVICES[name][2] + REPLICA_PORT_STEP * (replica - 1)


def environment(profile, process):
    """A process's environment: its service's database and the profile's broker, whichever replica."""
    settings = PROFILES[profile]
    vhost = "" if settings["vhost"] == "/" else settings["vhost"]
    database = settings["db_prefix"] + service_of(process)[0]
    env = {**os.environ, **secrets_env(profile),
           "AMQP_URI": f"amqp://guest:guest@{AMQP_HOST}:{AMQP_PORT}/{vhost}",
           "DATABASE_URL": f"postgresql+psycopg2://{PG['user']}@{PG['host']}:{PG['port']}/{database}",
           "WEB_SERVER_ADDRESS": f"127.0.0.1:{port(profile, process)}",
           "PYTHONWARNINGS": QUIET_WARNINGS}
    env.update(settings.get("env", {}))
    return env


def prepare(profile):
    """Databases, migrations, the broker's virtual host and queue topology."""
    import psycopg2
    settings = PROFILES[profile]
    connection = psycopg2.connect(dbname="postgres", **PG)
    connection.autocommit = True
    with connection.cursor() as cursor:
        for name in SERVICES:
            database = settings["db_prefix"] + name
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{database}"')
                say(f"created database {database}")
    connection.close()
    if settings["vhost"] != "/":
        ensure_vhost(settings["vhost"])
    for name, (directory, _, _) in SERVICES.items():
        subprocess.run([VENV_BIN / "alembic", "-c", "alembic.ini", "upgrade", "head"], cwd=ROOT / directory,
                       env=environment(profile, name), check=True, stdout=subprocess.DEVNULL)
    subprocess.run([VENV_BIN / "python", "-m", "common.topology"], env=environment(profile, "gateway"),
                   check=True, stdout=subprocess.DEVNULL)
    say("migrations applied; queues declared")


def reset(profile):
    """Drop the profile's databases and virtual host (only a disposable profile's)."""
    import psycopg2
    settings = PROFILES[profile]
    assert settings.get("disposable") and settings["vhost"] != "/", profile
    connection = psycopg2.connect(dbname="postgres", **PG)
    connection.autocommit = True
    with connection.cursor() as cursor:
        for name in SERVICES:
            cursor.execute(f'DROP DATABASE IF EXISTS "{settings["db_prefix"] + name}" WITH (FORCE)')
    connection.close()
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", settings["vhost"]], capture_output=True)


def ensure_vhost(vhost):
    for command in (["rabbitmqctl", "-q", "add_vhost", vhost],
                    ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"]):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 and "already_exists" not in result.stderr + result.stdout:
            raise SystemExit(f"{' '.join(command)} failed: {result.stderr.strip()}")


def pid_of(profile, name):
    path = run_dir(profile) / f"{name}.pid"
    if not path.exists():
        return None
    pid = int(path.read_text())
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:  # our own child, just exited: reap it
            return None
    except ChildProcessError:  # started by another process (make up, then make down)
        pass
    try:
        os.kill(pid, 0)
        return pid
    except OSError:
        return None


def start(profile, name, env=None):
    if pid_of(profile, name):
        return
    directory, module, _ = SERVICES[service_of(name)[0]]
    log = open(run_dir(profile) / f"{name}.log", "ab")
    process = subprocess.Popen([VENV_BIN / "nameko", "run", "--config", "config.yml", module], cwd=ROOT / directory,
                               env={**environment(profile, name), **(env or {})}, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    (run_dir(profile) / f"{name}.pid").write_text(str(process.pid))


def running(profile):
    """Every process of the profile with a pid file, replicas included."""
    return [path.stem for path in sorted(run_dir(profile).glob("*.pid")) if service_of(path.stem)[0] in SERVICES]


def url(profile, name, path=""):
    return f"http://127.0.0.1:{port(profile, name)}{path}"


def ready(profile, name):
    try:
        with urllib.request.urlopen(url(profile, name, "/health/ready"), timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(profile, names, timeout=60):
    deadline = time.monotonic() + timeout
    waiting = set(names)
    while waiting and time.monotonic() < deadline:
        waiting = {name for name in waiting if not ready(profile, name)}
        for name in waiting:
            if pid_of(profile, name) is None:
                raise SystemExit(f"{name} exited; see {run_dir(profile) / (name + '.log')}")
        time.sleep(0.3)
    if waiting:
        raise SystemExit(f"not ready after {timeout}s: {', '.join(sorted(waiting))}; see .run/{profile}/*.log")


def up(profile, replicas=1):
    check_dependencies()
    if PROFILES[profile].get("disposable") and not any(pid_of(profile, name) for name in running(profile)):
        reset(profile)
    prepare(profile)
    processes = process_names(replicas)
    for name in processes:  # each gateway enforces its share of a client's rate (ADR 0005)
        start(profile, name, {"GATEWAY_REPLICAS": str(replicas)})
    wait_ready(profile, processes)
    say(f"\nplatform is up ({profile}).\n  gateway:  {url(profile, 'gateway')}   (API guide: "
        f"{url(profile, 'gateway', '/openapi.json')})")
    for name in processes:
        say(f"  {name + ':':<14}{url(profile, name, '/metrics')}")
    say(f"  logs:     .run/{profile}/<service>.log")


def stop(profile, names, sig=signal.SIGTERM, timeout=30):
    """Signal every process first, then wait: shutdowns drain in parallel."""
    pids = {name: pid_of(profile, name) for name in names}
    for pid in filter(None, pids.values()):
        os.killpg(pid, sig)
    deadline = time.monotonic() + timeout
    while any(pid_of(profile, name) for name in names) and time.monotonic() < deadline:
        time.sleep(0.1)
    for name in names:
        if pid_of(profile, name):
            os.killpg(pids[name], signal.SIGKILL)
        (run_dir(profile) / f"{name}.pid").unlink(missing_ok=True)


def down(profile):
    stop(profile, sorted(set(SERVICES) | set(running(profile))))
    say(f"platform stopped ({profile})")


def status(profile):
    for name in sorted(set(SERVICES) | set(running(profile))):
        state = "ready" if ready(profile, name) else ("running" if pid_of(profile, name) else "stopped")
        say(f"{name:<14}{state:<9}{url(profile, name)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "down", "status", "prepare", *OPERATOR_CLIS])
    parser.add_argument("--profile", choices=PROFILES, default=os.environ.get("VT_PROFILE", "dev"))
    parser.add_argument("--replicas", type=int, default=int(os.environ.get("REPLICAS", 1)),
                        help="processes of every service (up only)")
    args, rest = parser.parse_known_args()
    if args.command in OPERATOR_CLIS:  # an operator CLI, with this machine's database and secrets
        service, module = OPERATOR_CLIS[args.command]
        sys.exit(subprocess.run([VENV_BIN / "python", "-m", module, *rest], cwd=ROOT / SERVICES[service][0],
                                env=environment(args.profile, service)).returncode)
    if args.command == "up":
        up(args.profile, args.replicas)
    else:
        {"down": down, "status": status, "prepare": prepare}[args.command](args.profile)


if __name__ == "__main__":
    main()
