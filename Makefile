# Quick start: `make demo` (set up, run the main job on the bundled demo) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build; on a CUDA workstation use e.g. TORCH_SPEC="torch==2.13.0" from the CUDA wheel index.
TORCH_SPEC ?= torch==2.13.0
DEMO := emdenoise_gui/resources/demo
OUT := demo-output

.PHONY: setup demo test test-long lint clean installer installer-test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The main job on the bundled FIB-SEM demo: denoise its noisy copy with the best shipped model (NRRN base)
# and with the best classical filters of the quality benchmark at this dose (the SURE-tuned Gaussian on the
# slice and its neighbours, BM3D), score them against the clean crop, and picture the app (works with no display).
demo: $(STAMP)
	mkdir -p $(OUT)
	$(BIN)/emdenoise info $(DEMO)/flyem_fibsem_demo_noisy.tif
	$(BIN)/emdenoise denoise $(DEMO)/flyem_fibsem_demo_noisy.tif -o $(OUT)/denoised_nrrn.tif --model flyem-nrrn-base --overwrite
	$(BIN)/emdenoise denoise $(DEMO)/flyem_fibsem_demo_noisy.tif -o $(OUT)/denoised_gaussian-sure-avg.tif --method gaussian-sure-avg --overwrite
	$(BIN)/emdenoise denoise $(DEMO)/flyem_fibsem_demo_noisy.tif -o $(OUT)/denoised_bm3d.tif --method bm3d --overwrite
	$(BIN)/emdenoise compare $(DEMO)/flyem_fibsem_demo.tif $(DEMO)/flyem_fibsem_demo_noisy.tif $(OUT)/denoised_nrrn.tif \
		$(OUT)/denoised_gaussian-sure-avg.tif $(OUT)/denoised_bm3d.tif
	rm -rf $(OUT)/home  # a fresh demo project and settings: the picture shows what a first start shows
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} EMDENOISE_HOME=$(CURDIR)/$(OUT)/home $(BIN)/emdenoise-gui --demo --screenshot $(OUT)/main_window.png
	@echo "Results and a picture of the app are in $(OUT)/. Open the app with: $(BIN)/emdenoise-gui --demo"

lint: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP)
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider

# The long runs (minutes) beyond what the default tests run: the fuzz run (20,000 mutated headers; 600 in make test) and
# twenty kill points per kill test (two in make test).
test-long: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider --long tests/core/test_fuzz_headers.py \
		tests/training/test_kill.py

# The installer (issue 12): a PyInstaller one-folder bundle, a tar.gz and, on Debian/Ubuntu, a .deb, all in
# build/installer/. Built in an environment of its own (build/installer/venv-$(GPU)): the CPU edition from
# the same torch as `setup`; `make installer GPU=cuda` the CUDA edition from CUDA_TORCH, PyPI's Linux torch
# wheel, which is the CUDA build (its nvidia-* libraries come as wheels beside it); package.py checks
# that the bundle holds the CUDA runtime (or, for the CPU edition, does not).
GPU ?= cpu
BUILD := build/installer
BVENV := $(BUILD)/venv-$(GPU)
CUDA_TORCH ?= torch==2.14.1
ifeq ($(GPU),cuda)
BUILD_TORCH := $(CUDA_TORCH)
else
BUILD_TORCH := $(TORCH_SPEC)
endif
# hooks-contrib 2024.10 is the first to collect the nvidia-* CUDA libraries of the CUDA torch wheels.
BUILD_TOOLS := pyinstaller==6.22.3 "pyinstaller-hooks-contrib>=2024.10" pillow

$(BVENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BVENV)
	$(BVENV)/bin/python -m pip install --quiet --disable-pip-version-check $(BUILD_TORCH)
	$(BVENV)/bin/python -m pip install --quiet --disable-pip-version-check -e . $(BUILD_TOOLS)
	touch $@

installer: $(BVENV)/.installed
	rm -rf $(BUILD)/dist-$(GPU)
	$(BVENV)/bin/pyinstaller --noconfirm --log-level WARN --distpath $(BUILD)/dist-$(GPU) --workpath $(BUILD)/work-$(GPU) \
		installer/emdenoise.spec
	$(BVENV)/bin/python installer/linux/package.py $(BUILD)/dist-$(GPU)/emdenoise --edition $(GPU) --out $(BUILD)

# The built bundle run as a user runs it (the `frozen` tests: smoke tests of both executables, doctor, denoise).
installer-test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider -m frozen \
		--frozen $(BUILD)/dist-$(GPU)/emdenoise tests/installer/test_frozen.py

clean:
	rm -rf $(VENV) $(OUT) build
