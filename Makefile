# agentdeck — build, run and test. Needs only python3 (3.11+) on a fresh Debian machine.

UV := $(or $(shell command -v uv 2>/dev/null),.venv-tools/bin/uv)
UV_VERSION := 0.13.8
export UV_PYTHON_DOWNLOADS ?= never

HOST ?=
PORT ?=
PYTEST_ARGS ?=
export AGENTDECK_SCREENSHOT_DIR ?= build/screenshots

# Shell snippet: find (or start) PostgreSQL and export its URL as $(1); fails if none.
pg_url = $(1)="$$(scripts/ensure-postgres.sh)" && export $(1)

RUN_TESTS = $(call pg_url,AGENTDECK_TEST_POSTGRES_URL) && scripts/ensure-iproute2.sh && \
	scripts/ensure-bubblewrap.sh >/dev/null && \
	if [ -d tests/browser ]; then AGENTDECK_CHROMIUM="$$(scripts/ensure-chromium.sh)" && export AGENTDECK_CHROMIUM; fi && \
	mkdir -p "$(AGENTDECK_SCREENSHOT_DIR)" && \
	.venv/bin/pytest $(PYTEST_ARGS)

.PHONY: uv install run test check lint fmt bench clean distclean

uv:
	@command -v uv >/dev/null 2>&1 || test -x .venv-tools/bin/uv || \
	  { python3 -m venv .venv-tools && .venv-tools/bin/pip install -q uv==$(UV_VERSION); }

install: uv
	$(UV) sync --locked

# The offline simulator answers at a pace a person can follow (tests and bench keep 0).
SIMULATOR_LATENCY ?= 1.5

run: install
	AGENTDECK_SIMULATOR_LATENCY="$${AGENTDECK_SIMULATOR_LATENCY:-$(SIMULATOR_LATENCY)}" \
	.venv/bin/agentdeck up $(if $(HOST),--host $(HOST)) $(if $(PORT),--port $(PORT))

test: install
	$(RUN_TESTS)

lint: install
	.venv/bin/ruff format --check .
	.venv/bin/ruff check .
	.venv/bin/mypy

check: lint
	$(RUN_TESTS)

fmt: install
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

bench: install
	$(call pg_url,AGENTDECK_BENCH_POSTGRES_URL) && .venv/bin/python -m bench

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -not -path './.venv*' -prune -exec rm -rf {} +

# Also stops the throwaway PostgreSQL cluster and removes every virtualenv.
distclean: clean
	-scripts/ensure-postgres.sh --stop
	rm -rf .venv .venv-tools .agentdeck
