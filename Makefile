# Every target creates .venv when missing; `make test` also installs mosquitto, systemd-analyze
# and chromium when they are missing (apt-get, as root).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CAMERA_STAMP := $(VENV)/.camera-test
LIVE_STAMP := $(VENV)/.live-test

# The official AsyncAPI 3.0 JSON Schema, which docs/contract/asyncapi.json is tested against:
# fetched once with npm where npm is installed (the test says it skipped otherwise).
ASYNCAPI_SCHEMA := $(VENV)/asyncapi-3.0.0.schema.json
ASYNCAPI_SPECS := @asyncapi/specs@6.11.1

.PHONY: demo test lint bench contract fleet-cluster system-tools install uninstall clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,sim,lint]'
	touch $(STAMP)

# picamera2 for the camera tests, after system-tools (its python-prctl builds against libcap-dev).
$(CAMERA_STAMP): $(STAMP) | system-tools
	$(PY) -m pip install --quiet -e '.[camera-test]'
	touch $(CAMERA_STAMP)

# PyGObject for the live view's tests, after system-tools (it builds against GObject
# introspection and cairo; GStreamer's RTSP server is its typelib).
$(LIVE_STAMP): $(STAMP) | system-tools
	$(PY) -m pip install --quiet -e '.[live]'
	touch $(LIVE_STAMP)

# The test suite's system tools: mosquitto (a real broker), systemd-analyze (unit checks),
# libcap-dev (to build picamera2's python-prctl), GStreamer's RTSP server with the headers
# PyGObject builds against (the live view), and, where apt can get it, headless Chromium (the
# history page's test skips without it).
GSTREAMER := gir1.2-gst-rtsp-server-1.0 gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 \
	gstreamer1.0-plugins-good gstreamer1.0-plugins-bad libgirepository1.0-dev libcairo2-dev \
	pkg-config
system-tools:
	@missing=""; optional=""; \
	command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto || missing="mosquitto"; \
	command -v systemd-analyze >/dev/null 2>&1 || missing="$$missing systemd"; \
	test -e /usr/include/sys/capability.h || missing="$$missing libcap-dev"; \
	ls /usr/lib/*/girepository-1.0/GstRtspServer-1.0.typelib >/dev/null 2>&1 \
	  && pkg-config --exists gobject-introspection-1.0 cairo \
	  && ls /usr/lib/*/gstreamer-1.0/libgstvideoparsersbad.so >/dev/null 2>&1 \
	  || missing="$$missing $(GSTREAMER)"; \
	command -v chromium >/dev/null 2>&1 || optional="chromium"; \
	if [ -n "$$missing$$optional" ]; then apt-get update; fi; \
	if [ -n "$$missing" ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing \
	  || exit 1; fi; \
	if [ -n "$$optional" ]; then \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$optional \
	  || echo "chromium not installed: the history page's browser test will skip"; fi

demo: $(STAMP)
	$(VENV)/bin/doorstep-sim demo

test: $(STAMP) system-tools $(CAMERA_STAMP) $(LIVE_STAMP) $(ASYNCAPI_SCHEMA)
	$(PY) -m pytest

$(ASYNCAPI_SCHEMA): | $(STAMP)
	@if command -v npm >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent $(ASYNCAPI_SPECS) >/dev/null \
	    && tar xzf asyncapi-specs-*.tgz) \
	  && cp "$$tmp/package/schemas/3.0.0-without-\$$id.json" $@ \
	  || echo "could not fetch $(ASYNCAPI_SPECS); the AsyncAPI check will skip"; \
	  rm -rf $$tmp; \
	else echo "npm not found: the AsyncAPI document's check against the official schema will skip"; fi

# docs/contract/: the JSON Schemas and the AsyncAPI document, generated from edge/contract/.
contract: $(STAMP)
	$(PY) -m edge.contract docs/contract

# ruff (lint and format) on the daemon, the simulator and the tests; mypy --strict (with pydantic's
# plugin) on the daemon and the simulator, and on every test body (the tests' functions need no
# annotations); the layers' import contracts (pyproject [tool.importlinter]).
lint: $(STAMP)
	$(PY) -m ruff check edge simulator tests
	$(PY) -m ruff format --check edge simulator tests
	$(PY) -m mypy edge simulator tests
	$(VENV)/bin/lint-imports

bench: $(STAMP) system-tools $(CAMERA_STAMP)
	$(PY) -m tests.bench.bench_core
	$(PY) -m tests.bench.bench_daemon
	$(PY) -m tests.bench.bench_history
	$(PY) -m tests.bench.bench_clips
	$(PY) -m tests.bench.bench_pi_video
	$(PY) -m tests.bench.bench_fleet

# The fleet on a two-node RabbitMQ cluster started here (rabbitmq-server installed when missing),
# and the slow tests that also run the real daemon against it.
fleet-cluster: $(STAMP) system-tools
	@test -x /usr/lib/rabbitmq/bin/rabbitmq-server || (apt-get update && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends rabbitmq-server)
	$(VENV)/bin/doorstep-sim fleet --rabbitmq-cluster --devices 200 --rate 20 --duration 30
	$(PY) -m pytest -m slow tests/e2e/test_rabbitmq_cluster.py

install:  # on the Raspberry Pi, as root: sudo make install
	./firmware_config/install.sh

uninstall:  # keeps /etc/doorstep and /var/lib/doorstep
	./firmware_config/install.sh --uninstall

clean:
	rm -rf $(VENV) demo-output
