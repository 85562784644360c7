# One non-recursive Makefile for the whole platform.
#
#   make            build the shared library, every service, the local broker and the tests
#   make run        install what is missing, build, start the local stack (deploy/local/run.sh)
#   make test       install what is missing, build, run unit and integration tests (tests/run.sh)
#   make test-long  the long end-to-end and fault tests (tests/e2e/long.sh)
#   make SAN=1 ...  the same with AddressSanitizer and UBSan, built into build/san/
#   make format / format-check   clang-format 14 with the committed .clang-format
#   make clean / clean-data
#
# Layout it relies on, so that adding a file needs no edit here:
#   shared/*.c                      -> build/<v>/libshared.a
#   services/<name>/*.c             -> build/<v>/bin/<name>
#   services/<name>/migrations/*.sql embedded into that binary (shared/db.h: struct db_migration)
#   deploy/local/kafka_broker.c     -> build/<v>/bin/kafka-broker
#   tests/unit/test_*.c             -> build/<v>/tests/unit/test_*
#   tests/integration/test_*.c      -> build/<v>/tests/integration/test_*  (with tests/lib/*.c)
#   tests/fixtures/*.c              -> build/<v>/tests/fixtures/*           (helper programs)
#   tests/bench/*.c                 -> build/<v>/tests/bench/*              (benchmark programs)
#   tests/<service>/test_*.c        -> build/<v>/tests/<service>/test_*      (linked with that
#                                      service's objects except main.o: its internals under test,
#                                      and with tests/<service>/*.c that are not test_*: their
#                                      support code)
#   deploy/demo/*.c                 -> build/<v>/bin/demo-sources           (fake source APIs)

# Prerequisites below use $$(wildcard services/$$*/...) to find each service's own files.
.SECONDEXPANSION:

VARIANT := $(if $(SAN),san,dev)
B := build/$(VARIANT)

CC ?= cc
PKGS := rdkafka libpq jansson libmicrohttpd libcurl libxml-2.0 libcrypto
TEST_PKGS := cmocka

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wformat=2 -Wvla -Wpointer-arith -Wcast-qual -Wundef -Wnull-dereference
CFLAGS_BASE := -std=c11 -D_DEFAULT_SOURCE -g -O2 $(WARN) -Ishared
ifdef SAN
CFLAGS_BASE += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDFLAGS_BASE := -fsanitize=address,undefined
endif

PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS = $(shell pkg-config --libs $(PKGS)) -lstemmer -lpthread -lm
TEST_CFLAGS = $(shell pkg-config --cflags $(TEST_PKGS))
TEST_LIBS = $(shell pkg-config --libs $(TEST_PKGS))

ALL_CFLAGS = $(CFLAGS_BASE) $(PKG_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS_BASE) $(LDFLAGS)

SHARED_SRC := $(wildcard shared/*.c)
SHARED_OBJ := $(SHARED_SRC:%.c=$(B)/obj/%.o)
LIBSHARED := $(B)/libshared.a

SERVICES := $(notdir $(patsubst %/,%,$(dir $(wildcard services/*/main.c))))
SERVICE_BINS := $(SERVICES:%=$(B)/bin/%)

BROKER := $(B)/bin/kafka-broker
DEMO_SRC := $(wildcard deploy/demo/*.c)
DEMO := $(if $(DEMO_SRC),$(B)/bin/demo-sources)

TESTLIB_SRC := $(wildcard tests/lib/*.c)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(B)/obj/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:%.c=$(B)/%)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
INTEG_BINS := $(INTEG_SRC:%.c=$(B)/%)
FIXTURE_SRC := $(wildcard tests/fixtures/*.c)
FIXTURE_BINS := $(FIXTURE_SRC:%.c=$(B)/%)
BENCH_SRC := $(wildcard tests/bench/*.c)
BENCH_BINS := $(BENCH_SRC:%.c=$(B)/%)
# A service's own tests build as soon as its folder has code, before its main.c exists.
SERVICE_DIRS := $(notdir $(patsubst %/,%,$(dir $(wildcard services/*/*.c))))
SERVICE_TEST_SRC := $(foreach s,$(sort $(SERVICE_DIRS)),$(wildcard tests/$(s)/test_*.c))
SERVICE_TEST_BINS := $(SERVICE_TEST_SRC:%.c=$(B)/%)

# What the binaries find in <bin>/../share: the classifier's default models, trained at build
# time on the project's own corpus (services/classifier/data/), its taxonomy, and the region
# packs. An image copies build/<v>/share as it is.
SHARE := $(B)/share
CLASSIFIER_DATA := services/classifier/data
SHARE_FILES := $(if $(wildcard services/classifier/main.c),$(SHARE)/classifier/incident.model \
	$(SHARE)/classifier/topic.model $(SHARE)/classifier/taxonomy.json) \
	$(patsubst deploy/%,$(SHARE)/%,$(wildcard deploy/regions/*/*.json))

.PHONY: all services share tests deps run test test-long bench clean clean-data format format-check
all: services $(BROKER) $(DEMO) tests $(SHARE_FILES)
services: $(SERVICE_BINS)
# What an image ships beside the binaries (deploy/docker/Dockerfile: make services share).
share: $(SHARE_FILES)
tests: $(UNIT_BINS) $(INTEG_BINS) $(FIXTURE_BINS) $(SERVICE_TEST_BINS) $(BENCH_BINS)

# ---- objects -------------------------------------------------------------------------------
$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(if $(findstring tests/,$<),$(TEST_CFLAGS) -Itests/lib $(addprefix -Iservices/,$(firstword $(subst /, ,$(patsubst tests/%,%,$<))))) -MMD -MP -c $< -o $@

$(LIBSHARED): $(SHARED_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# ---- services: services/<name>/*.c plus its embedded migrations ---------------------------
# Each service gets build/<v>/gen/<name>_migrations.c defining `<name>_migrations[]`.
$(B)/gen/%_migrations.c: deploy/embed_migrations.sh $$(wildcard services/%/migrations/*.sql)
	@mkdir -p $(@D)
	sh deploy/embed_migrations.sh $* services/$*/migrations > $@.tmp && mv $@.tmp $@

# (Functions, because make replaces a '%' written in a pattern rule's prerequisites with the
# stem, patsubst's pattern included.)
service_objs = $(patsubst %.c,$(B)/obj/%.o,$(wildcard services/$(1)/*.c))
service_lib_objs = $(patsubst %.c,$(B)/obj/%.o,$(filter-out %/main.c,$(wildcard services/$(1)/*.c)))
$(B)/bin/%: $$(call service_objs,$$*) $(B)/obj/gen/%_migrations.o $(LIBSHARED)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BROKER): $(B)/obj/deploy/local/kafka_broker.o $(LIBSHARED)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(DEMO): $(DEMO_SRC:%.c=$(B)/obj/%.o) $(LIBSHARED)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(SHARE)/regions/%: deploy/regions/%
	@mkdir -p $(@D)
	cp $< $@

$(SHARE)/classifier/taxonomy.json: $(CLASSIFIER_DATA)/taxonomy.json
	@mkdir -p $(@D)
	cp $< $@

$(SHARE)/classifier/incident.model: $(CLASSIFIER_DATA)/corpus.ndjson $(B)/bin/classifier
	@mkdir -p $(@D)
	$(B)/bin/classifier train --input $< --text-column text --label-column incident \
		--out $@ >/dev/null

# The topic model learns from the incidents only: non-incidents are the other model's job.
$(SHARE)/classifier/topic.model: $(CLASSIFIER_DATA)/corpus.ndjson $(B)/bin/classifier
	@mkdir -p $(@D)
	grep '"incident": *true' $< > $@.corpus
	$(B)/bin/classifier train --input $@.corpus --text-column text --label-column topic \
		--out $@ >/dev/null
	rm -f $@.corpus

# ---- tests -----------------------------------------------------------------------------------
# A service's own tests link its objects (all but main.o), its embedded migrations and the
# support code its tests share (tests/<name>/*.c other than test_*.c). $* is <name>/test_x.
test_service = $(firstword $(subst /, ,$(1)))
service_test_support_objs = $(patsubst %.c,$(B)/obj/%.o,$(filter-out tests/$(1)/test_%,$(wildcard tests/$(1)/*.c)))
service_test_deps = $(call service_lib_objs,$(1)) $(B)/obj/gen/$(1)_migrations.o $(call service_test_support_objs,$(1))
$(SERVICE_TEST_BINS): $(B)/tests/%: $(B)/obj/tests/%.o $$(call service_test_deps,$$(call test_service,$$*)) $(TESTLIB_OBJ) $(LIBSHARED)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)

$(B)/tests/%: $(B)/obj/tests/%.o $(TESTLIB_OBJ) $(LIBSHARED)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(TEST_LIBS)

# ---- the two commands ------------------------------------------------------------------------
deps:
	@sh deploy/local/deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@BIN=$(B)/bin sh deploy/local/run.sh

test: deps
	@$(MAKE) --no-print-directory all fuzz-build
	@B=$(B) sh tests/run.sh

# The end-to-end and fault tests' long variants (tests/e2e/long.sh): more messages, more rounds.
test-long: deps
	@$(MAKE) --no-print-directory all
	@B=$(B) sh tests/e2e/long.sh

# Benchmarks that print figures and write $(B)/bench/results.json (tests/bench/run.sh, one
# script a section: tests/bench/<section>.sh).
bench: deps
	@$(MAKE) -s --no-print-directory $(SERVICE_BINS) $(BROKER) $(DEMO) $(BENCH_BINS) $(SHARE_FILES)
	@B=$(B) sh tests/bench/run.sh

clean:
	rm -rf build

clean-data:
	sh deploy/local/run.sh --clean-data

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find shared services deploy tests -name '*.[ch]')
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	clang-format --dry-run -Werror $(FORMAT_FILES)

# fuzz-build, fuzz: libFuzzer targets (tests/fuzz/).
include tests/fuzz/fuzz.mk

-include $(shell find build -name '*.d' 2>/dev/null)
