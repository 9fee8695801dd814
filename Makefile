# The portal's everyday commands. `make run` and `make test` work on a fresh
# machine with Python 3.11: they create .venv and install what they need.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
IMAGE ?= portal
CONTAINER ?= portal
VOLUME ?= portal-data

.PHONY: run dev test build start stop clean

run: $(VENV)/.installed
	$(BIN)/python wsgi.py

dev: $(VENV)/.installed
	$(BIN)/flask --app wsgi run --debug --host 127.0.0.1 --port 8000

test: $(VENV)/.installed-dev
	$(BIN)/pytest -v tests/

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
