# Quick start: `make demo` (set up, run the main job on the bundled demo) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build; on a CUDA workstation use e.g. TORCH_SPEC="torch==2.13.0" from the CUDA wheel index.
TORCH_SPEC ?= torch==2.13.0
DEMO := emdenoise_gui/resources/demo
OUT := demo-output

.PHONY: setup demo test test-long lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The main job on the bundled FIB-SEM demo: denoise its noisy copy with the best shipped model (NRRN base)
# and with the best classical filters of the quality benchmark at this dose (Gaussian on the 3-slice
# mean, BM3D), score them against the clean crop, and picture the app (works with no display).
demo: $(STAMP)
	mkdir -p $(OUT)
	$(BIN)/emdenoise info $(DEMO)/flyem_fibsem_demo_noisy.tif
	$(BIN)/emdenoise denoise $(DEMO)/flyem_fibsem_demo_noisy.tif -o $(OUT)/denoised_nrrn.tif --model flyem-nrrn-base --overwrite
	$(BIN)/emdenoise denoise $(DEMO)/flyem_fibsem_demo_noisy.tif -o $(OUT)/denoised_gaussian-avg.tif --method gaussian-avg --overwrite
	$(BIN)/emdenoise denoise $(DEMO)/flyem_fibsem_demo_noisy.tif -o $(OUT)/denoised_bm3d.tif --method bm3d --overwrite
	$(BIN)/emdenoise compare $(DEMO)/flyem_fibsem_demo.tif $(DEMO)/flyem_fibsem_demo_noisy.tif $(OUT)/denoised_nrrn.tif \
		$(OUT)/denoised_gaussian-avg.tif $(OUT)/denoised_bm3d.tif
	rm -rf $(OUT)/home  # a fresh demo project and settings: the picture shows what a first start shows
	QT_QPA_PLATFORM=$${QT_QPA_PLATFORM:-offscreen} EMDENOISE_HOME=$(CURDIR)/$(OUT)/home $(BIN)/emdenoise-gui --demo --screenshot $(OUT)/main_window.png
	@echo "Results and a picture of the app are in $(OUT)/. Open the app with: $(BIN)/emdenoise-gui --demo"

lint: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP)
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider

# The long fuzz run (20,000 mutated headers, minutes) on top of the default tests.
test-long: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider --long tests/core/test_fuzz_headers.py

clean:
	rm -rf $(VENV) $(OUT)
