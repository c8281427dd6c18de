# Every target bootstraps .venv on first use; later runs skip the install.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DOCS_STAMP := $(VENV)/.docs-installed

.PHONY: demo test bench peers peers-if-possible lint docs clean mutation

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch first, pinned to the CPU build that lies on this machine: never a CUDA download
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m nnue.kernel  # compile the NNUE kernel into numba's cache once, not at a game's start
	touch $(STAMP)

# the optional docs extra (mkdocs, Material, mkdocstrings, the notebook runner) and the cluster
# extra (Ray): make docs and make test install them, so their tests run on a fresh clone
$(DOCS_STAMP): $(STAMP)
	$(PY) -m pip install -q -e '.[docs,cluster]'
	touch $(DOCS_STAMP)

# Hexapawn solved, searched and learned; then one fast chess game, nnue-uci vs minizero-uci
demo: $(STAMP)
	$(VENV)/bin/hexapawn solve --size 3x3
	$(VENV)/bin/hexapawn solve --size 4x4
	$(PY) -m hexapawn.demo
	$(VENV)/bin/hexapawn compare --size 3x3
	$(PY) -m nnue.demo

lint: $(STAMP)
	$(VENV)/bin/ruff check .

# two pytest workers (pytest-xdist): the suite is CPU-bound, and two workers keep it within
# about 7 minutes on a 2-core machine
test: lint $(DOCS_STAMP)
	@$(MAKE) --no-print-directory peers-if-possible
	$(PY) -m pytest -q -n 2

# What make test needs from the peers: installed where this user can (root for apt-get; the
# venv for sunfish); where not, one line saying which tests will be skipped and the command.
peers-if-possible: $(STAMP)
	@if command -v stockfish >/dev/null || test -x /usr/games/stockfish; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  (apt-get update -qq && apt-get install -y -qq stockfish) >/dev/null 2>&1; then \
	  echo "make test: installed Stockfish (apt-get install stockfish)"; \
	else echo "make test: Stockfish is not installed, so the tests that need it will be" \
	  "skipped; install it with: sudo apt-get install -y stockfish"; fi
	@test -x $(VENV)/bin/sunfish-uci || $(PY) -m pip install -q --no-deps sunfish==2026.1 \
	  >/dev/null 2>&1 || echo "make test: sunfish is not installed, so the tests against it" \
	  "will be skipped; install it with: $(PY) -m pip install --no-deps sunfish==2026.1"

bench: $(STAMP)
	$(PY) -m benchmarks.run $(BENCH)

# Plant realistic bugs one at a time in every package and check that the tests that can see each
# catch it (benchmarks/mutants.py; not part of make test: a quarter of an hour when the tests
# kill the bugs, an hour and more when many survive).
mutation: $(STAMP)
	$(PY) -m benchmarks.mutation

# the site lands in build/site (open build/site/index.html, or serve the folder)
docs: $(DOCS_STAMP)
	$(PY) docs/build_site.py

peers: $(STAMP)
	# Stockfish from Debian (binary at /usr/games/stockfish) and sunfish, the Python peer
	command -v stockfish >/dev/null || test -x /usr/games/stockfish || \
	  (apt-get update -qq && apt-get install -y -qq stockfish)
	$(PY) -m pip install -q --no-deps sunfish==2026.1

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
