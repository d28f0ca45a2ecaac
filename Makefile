# The two commands a newcomer needs: `make demo` (the whole pipeline offline) and `make test`.
# Both set themselves up first (virtualenv, pip install, redis-server when missing).
VENV_PY := .venv/bin/python

.PHONY: setup demo test bench chaos clean

setup:
	@bash tools/bootstrap.sh

demo: setup
	@$(VENV_PY) -m teleglas.demo

test: setup
	@$(VENV_PY) -m pytest -n 2 --dist loadfile

# Speed against this machine's floor, and "nothing lost, nothing twice" under faults (each under 10 minutes).
bench: setup
	@$(VENV_PY) -m bench.run

chaos: setup
	@$(VENV_PY) -m bench.chaos

clean:
	rm -rf .venv .pytest_cache
