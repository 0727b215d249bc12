# Two commands: `make run` serves the app on an embedded local AWS; `make test` runs the whole suite.
# Both set everything up first on a fresh machine (venv, Python and Node packages, Chromium for tests).

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: run test stress lint format browser vendor clean package deploy doctor upgrade remove bench screenshots lighthouse

STAGE ?= dev
REGION ?= us-east-1
SLS := node_modules/.bin/serverless

run: $(PY_STAMP)
	$(PY) -m localaws

# Two pytest-xdist workers (one per core): each takes whole modules, and the browser and deploy folders whole
# (tests/conftest.py). PYTEST_WORKERS=0 runs the suite in this one process.
PYTEST_WORKERS ?= 2

test: $(PY_STAMP) $(NODE_STAMP) browser lint
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadscope $(PYTEST_ARGS)

# Concurrency and load against the local stack (tests/stress/, which `make test` leaves out): 20 people
# editing one record at once, then 30 s of mixed traffic; prints throughput and latency, writes
# .bench/load.json. About a minute on 2 cores.
stress: $(PY_STAMP)
	$(PY) -m pytest tests/stress -s $(PYTEST_ARGS)

lint: $(PY_STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(PY_STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

$(PY_STAMP): requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -qq --disable-pip-version-check -r requirements-dev.txt
	touch $@

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# README's screenshots (docs/screenshots/) from the local stack in headless Chromium: the dashboard, the records list,
# a record and the users page, light and dark, desktop and a 390 px phone. A minute or two.
screenshots: $(PY_STAMP) browser
	$(PY) -m tools.screenshots $(SCREENSHOTS_ARGS)

# Lighthouse's accessibility and best-practices scores (at least 0.95, issue 19) of the landing page, the records
# list, a record and the users page, against the local stack. One to two minutes.
lighthouse: $(PY_STAMP) $(NODE_STAMP) browser
	$(PY) -m tools.lighthouse $(LIGHTHOUSE_ARGS)

# Cold start, AWS calls per page, warm latency, scale and package size, each beside its floor (README,
# Performance). Offline, a few minutes; BENCH_ARGS="--help" lists the knobs.
bench: $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m bench $(BENCH_ARGS)

# Deploying to your own AWS account (README, Deploy). STAGE and REGION choose where.
package: $(PY_STAMP) $(NODE_STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SLS_TELEMETRY_DISABLED=1 $(SLS) package --stage $(STAGE) --region $(REGION)

deploy: $(PY_STAMP) $(NODE_STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" SLS_TELEMETRY_DISABLED=1 $(SLS) deploy --stage $(STAGE) --region $(REGION)
	$(PY) -m webapp.doctor --stage $(STAGE) --region $(REGION) || true

doctor: $(PY_STAMP)
	$(PY) -m webapp.doctor --stage $(STAGE) --region $(REGION)

# After deploying a version that keys items differently (README, Operating it, Upgrading a stage): brings the
# stage's records, history and counters to the current layout, in place; idempotent (webapp/upgrade.py).
upgrade: $(PY_STAMP)
	$(PY) -m webapp.upgrade --stage $(STAGE) --region $(REGION)

# Says first what the stage keeps (its retained tables and user pool) and what goes with it, and asks for the
# stage's name (webapp/teardown.py); CONFIRM=1 answers for you.
remove: $(PY_STAMP) $(NODE_STAMP)
	$(PY) -m webapp.teardown --stage $(STAGE) --region $(REGION) $(if $(CONFIRM),--yes)
	SLS_TELEMETRY_DISABLED=1 $(SLS) remove --stage $(STAGE) --region $(REGION)

# Debian's Chromium for the browser tests (Playwright's own browser download cannot run here).
browser:
	@.ci/ensure-chromium

# Refresh the CSS framework and the API docs' viewer (Swagger UI) shipped in static/ from package.json's versions.
vendor: $(NODE_STAMP)
	mkdir -p static/vendor/bootstrap
	sed '/sourceMappingURL=/d' node_modules/bootstrap/dist/css/bootstrap.min.css > static/vendor/bootstrap/bootstrap.min.css
	sed '/sourceMappingURL=/d' node_modules/bootstrap/dist/js/bootstrap.bundle.min.js > static/vendor/bootstrap/bootstrap.bundle.min.js
	cp node_modules/bootstrap/LICENSE static/vendor/bootstrap/LICENSE
	mkdir -p static/vendor/swagger-ui
	sed '/sourceMappingURL=/d' node_modules/swagger-ui-dist/swagger-ui-bundle.js > static/vendor/swagger-ui/swagger-ui-bundle.js
	sed '/sourceMappingURL=/d' node_modules/swagger-ui-dist/swagger-ui.css > static/vendor/swagger-ui/swagger-ui.css
	cp node_modules/swagger-ui-dist/LICENSE node_modules/swagger-ui-dist/NOTICE node_modules/swagger-ui-dist/swagger-ui-bundle.js.LICENSE.txt static/vendor/swagger-ui/

clean:
	rm -rf $(VENV) node_modules .pytest_cache .ruff_cache .serverless
