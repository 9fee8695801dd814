# The portal's everyday commands. `make run` and `make test` work on a fresh
# machine with Python 3.11: they create .venv and install what they need.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
IMAGE ?= portal
CONTAINER ?= portal
VOLUME ?= portal-data

# The suite runs in parallel (pytest-xdist: each worker its own data folders, database schemas,
# servers and ports; a test file stays on one worker, so a module's server or browser starts once)
# and in an order shuffled per module from a seed it prints: `make test SEED=1234` replays one.
# Servers and browsers spend much of their time waiting, so two workers per CPU keep both busy.
TEST_WORKERS ?= $(shell echo $$(( $$(nproc) * 2 )))
SEED ?= $(shell od -An -N2 -tu2 /dev/urandom | tr -d ' ')
# The slowest tests it lists at the end (`make test DURATIONS=0` lists all, to find where the time goes).
DURATIONS ?= 15
# Its processes (workers and the ~200 portals it starts) load the portal's modules from
# __pycache__ instead of compiling them each time, even where the environment says not to write it.
PYTEST_RUN = env -u PYTHONDONTWRITEBYTECODE $(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile -p random_order \
	--random-order-bucket=module --random-order-seed=$(SEED) --durations=$(DURATIONS)
# What the inner loop leaves out: Chromium, child servers, SeaweedFS, Redis, PostgreSQL, the
# benchmark and the fuzzing of the API documents (each runs in full in `make test`).
FAST_MARKERS = not browser and not server and not s3 and not redis and not postgres and not bench and not fuzz

.PHONY: run dev test test-fast check build start stop clean

run: $(VENV)/.installed
	$(BIN)/python wsgi.py

dev: $(VENV)/.installed
	$(BIN)/flask --app wsgi run --debug --host 127.0.0.1 --port 8000

test: $(VENV)/.installed-dev
	@echo "test order seed: $(SEED) (replay with: make test SEED=$(SEED))"
	$(PYTEST_RUN) tests/

# The inner loop: everything that needs nothing but Python, well under a minute.
test-fast: $(VENV)/.installed-dev
	$(PYTEST_RUN) -m "$(FAST_MARKERS)" tests/

# Lint and types over the whole tree, then the fast tests.
check: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(MAKE) test-fast

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: requirements.txt $(VENV)/.created
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.created
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.installed $@

build:
	docker build -t $(IMAGE) .

start:
	docker run --detach --name $(CONTAINER) --publish 8080:8080 \
		--volume $(VOLUME):/data --restart unless-stopped $(IMAGE)

stop:
	docker stop $(CONTAINER)
	docker rm $(CONTAINER)

clean:
	rm -rf $(VENV)
