# Two entry points: `make demo` runs the example workspace end to end,
# `make test` runs the whole test suite. Both create .venv on first use.
# `make fuzz` runs the property-based fuzz tests of tests/fuzz with many
# more examples (FUZZ_EXAMPLES per property).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := build/demo
# The inputs in examples/platform describe 2026-12-04 between 19:19
# and 21:03 UTC; pinning the clock keeps every age, and so every status, the
# same on any day.
DEMO_NOW := 2026-12-04T21:15:00Z

FUZZ_EXAMPLES ?= 2000

.PHONY: demo test fuzz clean

$(BIN)/assay: pyproject.toml setup.py src/assay/evidence/_walk.pyx
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: $(BIN)/assay
	rm -rf $(DEMO_DIR)
	mkdir -p $(dir $(DEMO_DIR))
	cp -r examples/platform $(DEMO_DIR)
	$(BIN)/assay keys generate --out $(DEMO_DIR)/.assay
	$(BIN)/assay run $(DEMO_DIR) --now $(DEMO_NOW)
	$(BIN)/assay verify "$$(cat $(DEMO_DIR)/reports/LATEST)" --key $(DEMO_DIR)/.assay/signing-key.pub.pem

test: $(BIN)/assay
	$(BIN)/python -m pytest

fuzz: $(BIN)/assay
	HYPOTHESIS_PROFILE=fuzz ASSAY_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/fuzz

clean:
	rm -rf build $(VENV)
