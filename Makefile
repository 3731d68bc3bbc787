# Set-up and chores. `dvc repro` is the only runner of the pipeline's stages.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
APT_STAMP := .venv/.apt-installed

# Debian packages: Tesseract and its six language packs (OCR of scanned responses),
# poppler-utils (pdftotext, the ingestion benchmark's yardstick), LibreOffice Writer
# (rebuilding the sample corpus, DOCX->PDF check of the report), Chromium (the HTML
# report test), and fonts for the six scripts.
APT_PACKAGES := tesseract-ocr tesseract-ocr-eng tesseract-ocr-ara tesseract-ocr-chi-sim \
	tesseract-ocr-fra tesseract-ocr-rus tesseract-ocr-spa poppler-utils \
	libreoffice-writer-nogui fonts-noto-core fonts-noto-cjk fonts-dejavu-core chromium

.PHONY: run test install bytecode system-deps lint sample bench clean

# dvc.yaml calls `textmine`; the venv's bin must be on PATH for it.
run: install bytecode
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
	@echo "Outputs are in reports/ (chair_summary.md|docx|html, tables/, figures/)."

test: install
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

install: $(STAMP)

# Every stage is a fresh interpreter; where the environment forbids writing bytecode at
# import (PYTHONDONTWRITEBYTECODE, as in CI), each would compile the package again.
# compileall writes it regardless, and only for modules changed since.
bytecode: install
	$(BIN)/python -m compileall -q pipeline

$(STAMP): pyproject.toml requirements.lock $(APT_STAMP)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

system-deps: $(APT_STAMP)

$(APT_STAMP):
	@mkdir -p $(VENV)
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	touch $(APT_STAMP)

lint: install
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/mypy

sample: install   ## rebuild corpora/raw/sample from corpora/sample-src (needs LibreOffice)
	$(BIN)/python corpora/sample-src/build.py

bench: install
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf corpora/interim reports/tables reports/figures reports/chair_summary.* .pytest_cache
