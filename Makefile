# The two commands a newcomer needs: `make demo` (the whole pipeline offline) and `make test`.
# Both set themselves up first (virtualenv, pip install, redis-server when missing).
VENV_PY := .venv/bin/python

.PHONY: setup demo test clean

setup:
	@bash tools/bootstrap.sh

demo: setup
	@$(VENV_PY) -m teleglas.demo

test: setup
	@$(VENV_PY) -m pytest

clean:
	rm -rf .venv .pytest_cache
