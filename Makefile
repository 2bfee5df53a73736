# reviewbot: `make run` starts the bot, `make test` runs every test. Both set up .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
BENCH_STAMP := $(VENV)/.bench-stamp

.PHONY: run test lint bench bench-search clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "reviewbot needs Python 3.11 or newer (found $$($(PYTHON) --version))"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
		{ echo "Could not create a virtualenv: on Debian/Ubuntu run 'sudo apt-get install python3-venv'"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

run: $(STAMP)
	$(PY) bot.py

# The whole suite, with PostgreSQL and a throwaway MediaWiki started by scripts/test-services.sh where
# it can (as root it installs the wiki's packages); tests whose service is missing skip, and the run's
# last line names them. .ci/run makes every skip a failure.
test: $(STAMP)
	$(PY) -m ruff check .
	eval "$$(scripts/test-services.sh)"; $(PY) -m pytest $(PYTEST_ARGS)

# Load benchmark. Headline: "the top of the hour", 10, 50 and 100 meetings at once in one workspace
# against a fake Slack that enforces Slack's rate limits, one bot process on SQLite and three on one
# PostgreSQL (127.0.0.1:5432/test, a fresh schema): bench/results/workspace.json and workspace.png.
# Then single-meeting throughput against a bare Bolt app: latest.json and latency.png. About an hour
# in all. BENCH_ARGS="--quick" is a 3-minute development run (10 meetings of 1 minute, SQLite);
# "--workspace-only", "--db sqlite", "--workspace-meetings 10,50"; "--readme" rewrites the figures
# in README.md and docs/performance.md.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(PY) -m pip install --quiet -e '.[test,bench]'
	@touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	@pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || ! command -v pg_ctlcluster >/dev/null 2>&1 || \
		pg_ctlcluster --skip-systemctl-redirect "$$(ls /etc/postgresql | head -n 1)" main start || true
	$(PY) -m bench.run $(BENCH_ARGS)

# Search benchmark: /review search over a million notes on SQLite and PostgreSQL (a fresh schema):
# p95 latency, import rate, size per million notes; bench/results/search.json. About 20 minutes.
bench-search: $(BENCH_STAMP)
	$(PY) -m bench.search $(BENCH_ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis
