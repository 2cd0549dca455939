# The platform on one machine. A newcomer needs two commands: `make up` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export PYTHONWARNINGS := ignore::Warning:nameko.cli.commands,ignore::Warning:nameko.containers,ignore::Warning:nameko.messaging,ignore::Warning:nameko.extensions
PACKAGES := -e ./common -e ./services/issuance -e ./services/redemption -e ./services/attendance \
            -e ./services/settlement -e ./services/statistics -e ./gateway -e ./sdk/python

.PHONY: up down status test demo bench soak install clean

$(BIN)/.installed: requirements.txt requirements-dev.txt $(wildcard */pyproject.toml services/*/pyproject.toml)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps $(PACKAGES)
	touch $@

install: $(BIN)/.installed
	@scripts/system-packages.sh

## Start every service and the gateway in the background (databases, migrations, queues included).
up: install
	$(BIN)/python scripts/launcher.py up

## Stop what `make up` started.
down:
	$(BIN)/python scripts/launcher.py down

status:
	$(BIN)/python scripts/launcher.py status

## The whole suite: unit tests, then the platform tests against a platform of its own.
test: install
	$(BIN)/python -m pytest

## Benchmarks against the platform `make up` started: each bench/bench_*.py prints one JSON line
## (figures beside the raw PostgreSQL/RabbitMQ limit); docs/performance.md says what they mean.
## The lines, the machine and each service's peak RSS are appended to docs/performance.md.
bench: install
	@$(BIN)/python bench/harness.py
	@mkdir -p .run/bench; results=.run/bench/results-$$(date +%s).jsonl; status=0; \
	for script in bench/bench_*.py; do \
		echo "== $$script" >&2; BENCH_RESULTS=$$results $(BIN)/python $$script || status=1; \
	done; $(BIN)/python bench/harness.py record $$results; exit $$status

## Ten minutes of steady load, every service's memory sampled: growth shows up here (bench/soak.py).
soak: install
	@$(BIN)/python bench/soak.py

## Load a realistic province (Hunan, 14 cities) into the running platform.
demo: install
	$(BIN)/python scripts/demo.py

clean: down
	rm -rf $(VENV) .run
