# engram -- PGXS build.
#
# `make demo` and `make test` work on a fresh Debian 12 machine: they install
# what is missing first (test/scripts/deps.sh), so nothing below may need
# pg_config before that has run.

EXTENSION = engram
EXTVERSION = 0.2.0

MODULE_big = engram
SRCS = $(sort $(wildcard src/*.c))
OBJS = $(SRCS:.c=.o)
HEADERS = $(wildcard src/*.h)

# The install script is assembled from one fragment per subsystem, in name
# order, so each subsystem owns its own SQL.  The upgrade script from the
# previous release is assembled the same way from sql/upgrade/*.sql: every
# change to sql/install/ has its twin there (sql/upgrade.sql checks that a
# database upgraded from 0.1.0 has exactly the catalog of a fresh install).
# sql/engram--0.1.0.sql is the released 0.1.0 script, frozen.
INSTALL_PARTS = $(sort $(wildcard sql/install/*.sql))
UPGRADE_PARTS = $(sort $(wildcard sql/upgrade/*.sql))
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql sql/$(EXTENSION)--0.1.0--$(EXTVERSION).sql
DATA = sql/$(EXTENSION)--0.1.0.sql

# pg_regress: every sql/*.sql that is not an extension script.
REGRESS = $(sort $(patsubst sql/%.sql,%,$(filter-out sql/$(EXTENSION)--%,$(wildcard sql/*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)
ISOLATION = $(sort $(patsubst test/isolation/specs/%.spec,%,$(wildcard test/isolation/specs/*.spec)))
ISOLATION_OPTS = --inputdir=test/isolation --outputdir=test/isolation/output --load-extension=$(EXTENSION)

SHLIB_LINK += -llz4 -lzstd
# No CPU-specific -m flags: SIMD kernels are chosen at run time (src/vector.c).
PG_CFLAGS += -O2 -ftree-vectorize -Wall -Wmissing-prototypes -Wno-declaration-after-statement

EXTRA_CLEAN = $(DATA_built) results regression.diffs regression.out tmp_check test/isolation/output \
	test/bench/out

PG_CONFIG ?= pg_config
PGXS := $(shell command -v $(PG_CONFIG) >/dev/null 2>&1 && $(PG_CONFIG) --pgxs)

ifneq ($(PGXS),)
include $(PGXS)
else
all:
	@echo "pg_config not found: run 'make demo' or 'make test' (they install dependencies), or set PG_CONFIG" >&2; exit 1
endif

sql/$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS)
	@mkdir -p $(dir $@)
	cat $^ > $@

sql/$(EXTENSION)--0.1.0--$(EXTVERSION).sql: $(UPGRADE_PARTS)
	@mkdir -p $(dir $@)
	cat $^ > $@

$(OBJS): $(HEADERS)

.PHONY: demo demo-python test test-long test-core deps bench bench-quick

deps:
	@bash test/scripts/deps.sh

# The two commands of the README.
demo:
	@bash test/scripts/demo.sh

# The Python client's example agent loop (clients/python).
demo-python:
	@bash test/scripts/demo_python.sh

test:
	@bash test/scripts/run_tests.sh

# Tests too heavy for every CI run (test/t/long/, see docs/test-plan.md),
# the page decoder fuzzing of 062 with many rounds, and PostgreSQL's own
# regression suite with engram as the default table AM (test-core).
test-long:
	@ENGRAM_TESTS=long bash test/scripts/run_tests.sh
	@ENGRAM_TESTS=core bash test/scripts/run_tests.sh
	@ENGRAM_TESTS=tap PROVE_TESTS="test/t/062_page_fuzz.pl" \
		ENGRAM_FUZZ_ITERATIONS=$${ENGRAM_FUZZ_ITERATIONS:-300} bash test/scripts/run_tests.sh

# PostgreSQL 15's regression suite, heap against engram, compared with
# test/core-regress/ (ENGRAM_CORE_UPDATE=1 regenerates it; see its header).
test-core:
	@ENGRAM_TESTS=core bash test/scripts/run_tests.sh

bench:
	@bash test/bench/run.sh

bench-quick:
	@bash test/bench/run.sh --quick
