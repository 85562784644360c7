# libFuzzer targets, included by the Makefile (tests/fuzz/README.md says what each covers).
#
#   make fuzz-build   builds tests/fuzz/fuzz_*.c with clang, libFuzzer, ASan and UBSan into
#                     build/fuzz/fuzz/ (its own objects in build/fuzz/obj/)
#   make fuzz         runs each target for FUZZ_SECONDS (default 600) from its seed corpus;
#                     `make test` runs each for FUZZ_SHORT_SECONDS (tests/fuzz/run.sh)
#
# A target named fuzz_<service>_<what> links that service's objects (all but main.o) from an
# archive, so that it may #include one of the service's .c files for its static functions
# without duplicate symbols; fuzz_shared_<what> links only libshared.

FUZZ_CC ?= clang-14
FUZZ_SECONDS ?= 600
FUZZ_B := build/fuzz
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/fuzz/%)
fuzz_service = $(word 2,$(subst _, ,$(1)))
fuzz_service_lib = $(if $(filter-out shared,$(call fuzz_service,$(1))),$(B)/lib$(call fuzz_service,$(1)).a)

.PHONY: fuzz-build fuzz-targets fuzz
# The classifier's target reads the shipped models from this build's share/.
fuzz-build: $(SHARE_FILES)
	@$(MAKE) --no-print-directory B=$(FUZZ_B) SAN=1 CC=$(FUZZ_CC) \
		CFLAGS=-fsanitize=fuzzer-no-link fuzz-targets

fuzz-targets: $(FUZZ_BINS)

fuzz: fuzz-build
	@for t in $(FUZZ_SRC:tests/fuzz/%.c=%); do \
		FUZZ_MODEL_DIR=$(SHARE)/classifier FUZZ_SECONDS=$(FUZZ_SECONDS) \
			sh tests/fuzz/run.sh $(FUZZ_B)/fuzz/$$t || exit 1; \
	done

$(B)/lib%.a: $$(call service_lib_objs,$$*) $(B)/obj/gen/%_migrations.o
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_BINS): $(B)/fuzz/%: $(B)/obj/tests/fuzz/%.o $$(call fuzz_service_lib,$$*) $(LIBSHARED)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)
