# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Both create .venv with the verified stack when it is missing and reuse it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The stamp names the inputs it was built from: a changed requirement rebuilds.
STAMP := $(VENV)/.installed-$(shell cat setup.py requirements*.txt | cksum | cut -d' ' -f1)

.PHONY: demo test venv clean-venv

venv: $(STAMP)

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install "setuptools>=77,<81" wheel ninja numpy psutil
	@# mmcv 2.1.0 has no wheel for this torch: build it (about 12 min on 2 cores, cached by pip).
	$(PY) -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '2.1.0'" 2>/dev/null || \
		MAX_JOBS=2 $(PIP) install --no-build-isolation mmcv==2.1.0
	$(PIP) install -r requirements.txt -r requirements-test.txt -r requirements-deploy.txt
	$(PIP) install --no-deps -r requirements-test-nodeps.txt
	$(PIP) install --no-build-isolation --no-deps -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

demo: $(STAMP)
	$(PY) tools/demo.py

test: $(STAMP)
	$(PY) -m pytest tests -q

# Not part of `make test`: mutation testing of the core modules, one to two hours
# on 2 cores (docs/testing.md); MODULE=name for one module.
.PHONY: mutation
mutation: $(STAMP)
	tools/dev/mutation_test.sh $(MODULE)

clean-venv:
	rm -rf $(VENV)
