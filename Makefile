# The two commands a newcomer needs: `make demo` (the whole pipeline offline) and `make test`.
# Both set themselves up first (virtualenv, pip install, redis-server when missing).
VENV_PY := .venv/bin/python

.PHONY: setup demo demo-dashboard test bench chaos clean

setup:
	@bash tools/bootstrap.sh

demo: setup
	@$(VENV_PY) -m teleglas.devstack.demo

# The demo kept running with the live dashboard on http://127.0.0.1:8082/ (user demo, password demo-dashboard).
demo-dashboard: setup
	@$(VENV_PY) -m teleglas.devstack.demo --dashboard

test:
	@bash tools/bootstrap.sh --test
	@$(VENV_PY) -m pytest -n 2 --dist loadfile

# Speed against this machine's floor, and "nothing lost, nothing twice" under faults (each under 10 minutes).
bench: setup
	@$(VENV_PY) -m bench.run

chaos: setup
	@$(VENV_PY) -m bench.chaos

clean:
	rm -rf .venv .pytest_cache
