# Every target creates .venv when missing; `make test` also installs mosquitto when missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench mosquitto install uninstall clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

mosquitto:
	@command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y mosquitto; }

demo: $(STAMP)
	$(VENV)/bin/doorstep-sim demo

test: $(STAMP) mosquitto
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) tests/bench/bench_core.py

install:  # on the Raspberry Pi, as root: sudo make install
	./firmware_config/install.sh

uninstall:  # keeps /etc/doorstep and /var/lib/doorstep
	./firmware_config/install.sh --uninstall

clean:
	rm -rf $(VENV) demo-output
