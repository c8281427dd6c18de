# Every target bootstraps .venv on first use; later runs skip the install.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench peers lint docs clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, pinned to the CPU build that lies on this machine: never a CUDA download
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/hexapawn solve --size 3x3
	$(VENV)/bin/hexapawn solve --size 4x4
	$(PY) -m hexapawn.demo
	$(VENV)/bin/hexapawn compare --size 3x3

lint: $(STAMP)
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m benchmarks.run $(BENCH)

# the site lands in build/site; it needs the docs extra and names it when missing
docs: $(STAMP)
	$(PY) docs/build_site.py

peers: $(STAMP)
	# Stockfish from Debian (binary at /usr/games/stockfish) and sunfish, the Python peer
	command -v stockfish >/dev/null || test -x /usr/games/stockfish || \
	  (apt-get update -qq && apt-get install -y -qq stockfish)
	$(PY) -m pip install -q --no-deps sunfish==2026.1

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
