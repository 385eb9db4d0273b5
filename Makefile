# Quick start: `make demo` (set up, run the main job on the bundled demo) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The CPU build; on a CUDA workstation use e.g. TORCH_SPEC="torch==2.13.0" from the CUDA wheel index.
TORCH_SPEC ?= torch==2.13.0
DEMO := resources/demo
OUT := demo-output

.PHONY: setup demo test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

# The main job on the bundled FIB-SEM demo: inspect it, denoise its noisy copy, score both.
demo: $(STAMP)
	mkdir -p $(OUT)
	$(BIN)/emdenoise info $(DEMO)/flyem_fibsem_demo.tif $(DEMO)/flyem_fibsem_demo_noisy.tif
	$(BIN)/emdenoise denoise $(DEMO)/flyem_fibsem_demo_noisy.tif -o $(OUT)/denoised_median.tif --method median --overwrite
	$(BIN)/emdenoise denoise $(DEMO)/flyem_fibsem_demo_noisy.tif -o $(OUT)/denoised_gaussian-avg.tif --method gaussian-avg --overwrite
	$(BIN)/emdenoise compare $(DEMO)/flyem_fibsem_demo.tif $(DEMO)/flyem_fibsem_demo_noisy.tif $(OUT)/denoised_median.tif $(OUT)/denoised_gaussian-avg.tif
	@echo "Results in $(OUT)/ (open them in Fiji, or: $(BIN)/emdenoise-gui)"

lint: $(STAMP)
	$(BIN)/lint-imports

test: $(STAMP)
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) $(OUT)
