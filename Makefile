# The two commands a newcomer needs: `make demo` (the whole pipeline offline) and `make test`.
# Both set themselves up first (virtualenv, pip install, redis-server when missing).
VENV_PY := .venv/bin/python

.PHONY: setup demo demo-dashboard demo-exchanges test lint typecheck test-unit bench chaos clean

setup:
	@bash tools/bootstrap.sh

demo: setup
	@$(VENV_PY) -m teleglas.devstack.demo

# The demo kept running with the live dashboard on http://127.0.0.1:8082/ (user demo, password demo-dashboard).
demo-dashboard: setup
	@$(VENV_PY) -m teleglas.devstack.demo --dashboard

# No CoinGlass key at all: alerts from the Binance, Bybit and OKX public streams (each emulated offline).
demo-exchanges: setup
	@$(VENV_PY) -m teleglas.devstack.demo --exchanges

# Lint, types, the unit tests (seconds; the first failure stops the run), then the integration tests against
# real redis-server, Celery workers and emulators on four pytest processes (most of their time is spent waiting on
# the processes they start, so four fit two cores), with the coverage of both runs.
test: lint typecheck
	@$(VENV_PY) -m pytest -m "not integration" -x -q --cov --cov-report=
	@$(VENV_PY) -m pytest -m integration -n 4 --dist loadfile --cov --cov-append --cov-report=term:skip-covered

lint:
	@bash tools/bootstrap.sh --test
	@$(VENV_PY) -m ruff check .
	@$(VENV_PY) -m ruff format --check .

typecheck:
	@bash tools/bootstrap.sh --test
	@$(VENV_PY) -m mypy

# The unit tests alone: seconds, no process started.
test-unit:
	@bash tools/bootstrap.sh --test
	@$(VENV_PY) -m pytest -m "not integration" -q

# Speed against this machine's floor and memory under load (about 16 minutes, 10 of them the memory rows), and
# "nothing lost, nothing twice" under faults (about 10 minutes). `make bench ONLY=latency,cascade` runs those rows
# alone (ingest, worker, latency, cascade, memory, dashboard, charts); MEMORY_S=60 runs the memory rows 60 s.
bench: setup
	@$(VENV_PY) -m bench.run $(if $(ONLY),--only $(ONLY)) $(if $(MEMORY_S),--memory-seconds $(MEMORY_S))

chaos: setup
	@$(VENV_PY) -m bench.chaos

clean:
	rm -rf .venv .pytest_cache
