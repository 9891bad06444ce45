# topoguard build.
#
# All output goes to $(B) (default build/). Three variants of every C object:
#   $(B)/rel   gcc, -O2, the shipped binaries
#   $(B)/asan  gcc, ASan+UBSan, the unit tests run here too
#   $(B)/fuzz  clang, libFuzzer + ASan + UBSan, the fuzz targets
# Sources are found by wildcard, so adding a file needs no Makefile change:
#   policy/*.c         -> libpolicy.a   (pure: no I/O)
#   plugin/nri/*.c     -> libnri.a      (+ protoc-c output from proto/*.proto)
#   bpf/*.c (loaders)  -> libtgbpf.a    (+ skeletons from bpf/*.bpf.c)
#   plugin/ROOM/*.c    -> libROOM.a     (one library per room of plugin/, docs/architecture.md;
#                                        plugin/cli/main.c is the topoguard binary's main)
#   tests/sim/*.c      -> nri-sim       (the runtime simulator)
#   tests/unit/AREA/test_*.c, tests/integration/test_*.c, tests/e2e/test_*.c -> one binary each
#   bench/*.c          -> one binary each
#   tests/fuzz/fuzz_*.c -> one libFuzzer binary each

B       ?= build
CC      ?= gcc
CLANG   ?= clang
BPFTOOL ?= bpftool
PROTOC_C ?= protoc-c
ARCH    := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

PKGS    := libprotobuf-c libbpf cmocka yaml-0.1 libmicrohttpd json-c libcurl libcgroup
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

VERSION ?= 0.1.0$(shell git rev-parse --short HEAD 2>/dev/null | sed 's/^/+g/')
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes \
	   -Wstrict-prototypes -Wundef -Wwrite-strings -Wimplicit-fallthrough -fno-common
BASE    := -std=gnu17 -g $(WARN) -I. -I$(B)/gen -I$(B)/bpf $(PKG_CFLAGS) \
	   -DTOPOGUARD_VERSION=\"$(VERSION)\"

CFLAGS_rel  := $(BASE) -O2 -fstack-protector-strong -D_FORTIFY_SOURCE=2
CFLAGS_asan := $(BASE) -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
	       -fno-sanitize-recover=all -fstack-protector-strong
CFLAGS_fuzz := $(BASE) -O1 -fsanitize=fuzzer-no-link,address,undefined \
	       -fno-omit-frame-pointer -DFUZZING
LDFLAGS_rel  :=
LDFLAGS_asan := -fsanitize=address,undefined
LDFLAGS_fuzz := -fsanitize=fuzzer,address,undefined
CC_rel  := $(CC)
CC_asan := $(CC)
CC_fuzz := $(CLANG)
LIBS    := $(PKG_LIBS) -lpthread -lm

# ---- sources ------------------------------------------------------------------
PROTOS      := $(wildcard proto/*.proto)
PROTO_C     := $(PROTOS:%.proto=$(B)/gen/%.pb-c.c)
PROTO_H     := $(PROTOS:%.proto=$(B)/gen/%.pb-c.h)
POLICY_SRCS := $(wildcard policy/*.c)
NRI_SRCS    := $(wildcard plugin/nri/*.c)
BPF_PROGS   := $(wildcard bpf/*.bpf.c)
BPF_SKELS   := $(BPF_PROGS:bpf/%.bpf.c=$(B)/bpf/%.skel.h)
BPF_LOADERS := $(filter-out %.bpf.c,$(wildcard bpf/*.c))
# The rooms of plugin/ besides nri/, lowest first; each links before the ones it uses.
ROOMS       := obs config host kube daemon cli
$(foreach r,$(ROOMS),$(eval ROOM_SRCS_$(r) := $(filter-out plugin/cli/main.c,$(wildcard plugin/$(r)/*.c))))
DAEMON_SRCS := $(foreach r,$(ROOMS),$(ROOM_SRCS_$(r)))
SIM_SRCS    := $(wildcard tests/sim/*.c)
UNIT_SRCS   := $(wildcard tests/unit/*/test_*.c)
INTEG_SRCS  := $(wildcard tests/integration/test_*.c)
E2E_SRCS    := $(wildcard tests/e2e/test_*.c)
BENCH_SRCS  := $(wildcard bench/*.c)
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
TESTLIB_SRCS := $(wildcard tests/lib/*.c)

# object path of source $2 in variant $1
obj = $(patsubst %.c,$(B)/$(1)/obj/%.o,$(2))

define variant
$(B)/$(1)/obj/%.o: %.c $(PROTO_H) | $(B)/$(1)/obj
	@mkdir -p $$(@D)
	$$(CC_$(1)) $$(CFLAGS_$(1)) -MMD -MP -c $$< -o $$@
$(B)/$(1)/obj/$(B)/gen/%.o: $(B)/gen/%.c $(PROTO_H)
	@mkdir -p $$(@D)
	$$(CC_$(1)) $$(CFLAGS_$(1)) -Wno-missing-prototypes -c $$< -o $$@
$(B)/$(1)/obj:
	@mkdir -p $$@
$(B)/$(1)/libpolicy.a: $(call obj,$(1),$(POLICY_SRCS))
	@rm -f $$@; ar rcs $$@ $$^
$(B)/$(1)/libnri.a: $(call obj,$(1),$(NRI_SRCS) $(PROTO_C))
	@rm -f $$@; ar rcs $$@ $$^
$(B)/$(1)/libtgbpf.a: $(call obj,$(1),$(BPF_LOADERS))
	@rm -f $$@; ar rcs $$@ $$^
$(B)/$(1)/libtest.a: $(call obj,$(1),$(TESTLIB_SRCS))
	@rm -f $$@; ar rcs $$@ $$^
$(call obj,$(1),$(BPF_LOADERS) $(DAEMON_SRCS) plugin/cli/main.c): $(BPF_SKELS)
$(1)_ALL_LIBS := $(foreach r,cli daemon kube host config obs,$(B)/$(1)/lib$(r).a) \
	$(B)/$(1)/libtgbpf.a $(B)/$(1)/libnri.a $(B)/$(1)/libpolicy.a
endef
$(foreach v,rel asan fuzz,$(eval $(call variant,$(v))))

define room_lib
$(B)/$(1)/lib$(2).a: $(call obj,$(1),$(ROOM_SRCS_$(2)))
	@rm -f $$@; ar rcs $$@ $$^
endef
$(foreach v,rel asan fuzz,$(foreach r,$(ROOMS),$(eval $(call room_lib,$(v),$(r)))))

# Which libraries a unit-test area (tests/unit/ROOM/) links: its room and the rooms
# below it, so one room's breakage does not block the tests of the rooms it uses. The
# policy area also links host and bpf: its property test reads the real sysfs fixtures.
AREA_LIBS_policy = $(B)/$(1)/libhost.a $(B)/$(1)/libtgbpf.a $(B)/$(1)/libpolicy.a
AREA_LIBS_nri    = $(B)/$(1)/libnri.a
AREA_LIBS_bpf    = $(B)/$(1)/libtgbpf.a $(B)/$(1)/libpolicy.a
AREA_LIBS_obs    = $(B)/$(1)/libobs.a
AREA_LIBS_config = $(B)/$(1)/libconfig.a $(B)/$(1)/libobs.a $(B)/$(1)/libpolicy.a
AREA_LIBS_host   = $(B)/$(1)/libhost.a $(B)/$(1)/libtgbpf.a $(B)/$(1)/libpolicy.a
AREA_LIBS_kube   = $(B)/$(1)/libkube.a
AREA_LIBS_daemon = $($(1)_ALL_LIBS)
AREA_LIBS_cli    = $($(1)_ALL_LIBS)
area_of = $(word 3,$(subst /, ,$(1)))

define unit_test
$(B)/$(1)/$(basename $(2)): $(call obj,$(1),$(2)) $(B)/$(1)/libtest.a $(call AREA_LIBS_$(call area_of,$(2)),$(1))
	@mkdir -p $$(@D)
	$$(CC_$(1)) $$(LDFLAGS_$(1)) -o $$@ $$^ $$(LIBS)
endef
$(foreach v,rel asan,$(foreach t,$(UNIT_SRCS),$(eval $(call unit_test,$(v),$(t)))))

define full_bin
$(B)/$(1)/$(basename $(2)): $(call obj,$(1),$(2)) $(B)/$(1)/libtest.a $($(1)_ALL_LIBS)
	@mkdir -p $$(@D)
	$$(CC_$(1)) $$(LDFLAGS_$(1)) -o $$@ $$^ $$(LIBS)
endef
$(foreach t,$(INTEG_SRCS) $(E2E_SRCS) $(BENCH_SRCS),$(eval $(call full_bin,rel,$(t))))
$(foreach t,$(E2E_SRCS),$(eval $(call full_bin,asan,$(t))))

define fuzz_bin
$(B)/fuzz/$(basename $(notdir $(1))): $(call obj,fuzz,$(1)) $(fuzz_ALL_LIBS)
	$$(CC_fuzz) $$(LDFLAGS_fuzz) -o $$@ $$^ $$(LIBS)
endef
$(foreach t,$(FUZZ_SRCS),$(eval $(call fuzz_bin,$(t))))

# ---- generated code -------------------------------------------------------------
$(B)/gen/proto/%.pb-c.c $(B)/gen/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(B)/gen
	$(PROTOC_C) -I. --c_out=$(B)/gen $<

$(B)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) -g -O2 --target=bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -I. -I$(B)/bpf -c $< -o $@
$(B)/bpf/%.skel.h: $(B)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# ---- top-level targets --------------------------------------------------------------
TOPOGUARD := $(B)/rel/topoguard
SIM       := $(B)/rel/nri-sim
UNIT_rel  := $(foreach t,$(UNIT_SRCS),$(B)/rel/$(basename $(t)))
UNIT_asan := $(foreach t,$(UNIT_SRCS),$(B)/asan/$(basename $(t)))
INTEG     := $(foreach t,$(INTEG_SRCS),$(B)/rel/$(basename $(t)))
E2E       := $(foreach t,$(E2E_SRCS),$(B)/rel/$(basename $(t)))
E2E_asan  := $(foreach t,$(E2E_SRCS),$(B)/asan/$(basename $(t)))
BENCHES   := $(foreach t,$(BENCH_SRCS),$(B)/rel/$(basename $(t)))
FUZZERS   := $(foreach t,$(FUZZ_SRCS),$(B)/fuzz/$(basename $(notdir $(t))))

# Keep generated headers, skeletons and objects (make would delete them as intermediates).
.SECONDARY:

.PHONY: all deps test demo bench fuzz fuzz-ci lint clean tests vmtest
all: $(TOPOGUARD) $(SIM)

# --as-needed: the daemon must not depend on test-only libraries (cmocka) at run time.
$(TOPOGUARD): $(call obj,rel,plugin/cli/main.c) $(rel_ALL_LIBS)
	$(CC_rel) -Wl,--as-needed -o $@ $^ $(LIBS)
$(SIM): $(call obj,rel,$(SIM_SRCS)) $(B)/rel/libnri.a $(B)/rel/libpolicy.a
	$(CC_rel) -o $@ $^ $(LIBS)
$(B)/asan/topoguard: $(call obj,asan,plugin/cli/main.c) $(asan_ALL_LIBS)
	$(CC_asan) $(LDFLAGS_asan) -o $@ $^ $(LIBS)
$(B)/asan/nri-sim: $(call obj,asan,$(SIM_SRCS)) $(B)/asan/libnri.a $(B)/asan/libpolicy.a
	$(CC_asan) $(LDFLAGS_asan) -o $@ $^ $(LIBS)

deps:
	@bash scripts/deps.sh

tests: all $(B)/asan/topoguard $(B)/asan/nri-sim $(UNIT_rel) $(UNIT_asan) $(INTEG) $(E2E) $(E2E_asan) $(BENCHES) $(FUZZERS)

# The README's test command. Installs what is missing, builds everything with -Werror,
# runs unit (plain and ASan+UBSan), integration (root), e2e and the bounded fuzz runs.
test: deps
	@$(MAKE) --no-print-directory -j$(shell nproc) tests
	@B=$(B) bash tests/run.sh

# VM=1: in the 2-socket, 2-NUMA-node QEMU guest of `make vmtest` (hybrid cgroups), so the
# placement is on real NUMA nodes and SMT siblings.
demo: deps
	@$(MAKE) --no-print-directory -j$(shell nproc) all
ifeq ($(VM),1)
	@bash scripts/deps.sh vm
	@B=$(B) bash scripts/vmtest.sh --run v1 'bash scripts/demo.sh'
else
	@B=$(B) bash scripts/demo.sh
endif

# The root tests in QEMU guests: cgroup v2, and hybrid v1 with 2 sockets, SMT and 2 NUMA
# nodes, on Debian 12's kernel 6.1 (scripts/vmtest.sh; the guest is cached in $(B)/vm/).
# VMTEST_GUESTS="v2" runs one. `make test` runs both too (side by side on 2+ CPUs).
vmtest: deps
	@bash scripts/deps.sh vm
	@$(MAKE) --no-print-directory -j$(shell nproc) all $(INTEG) $(E2E)
	@B=$(B) bash scripts/vmtest.sh $(VMTEST_GUESTS)

bench: deps
	@$(MAKE) --no-print-directory all $(BENCHES)
	@B=$(B) bash bench/run.sh

fuzz: $(FUZZERS)
	@B=$(B) FUZZ_SECONDS=$${FUZZ_SECONDS:-600} bash tests/fuzz/run.sh

fuzz-ci: $(FUZZERS)
	@B=$(B) FUZZ_SECONDS=$${FUZZ_SECONDS:-60} bash tests/fuzz/run.sh

LINT_SRCS = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h' | \
	grep -v -e '^vmlinux.h$$' -e '^tests/fixtures/' | while read f; do [ -f "$$f" ] && echo "$$f"; done)
lint:
	@clang-format --dry-run --Werror $(LINT_SRCS)
	@echo "lint: clang-format clean ($(words $(LINT_SRCS)) files)"
	@bash scripts/check-layout.sh
	@bash scripts/check-layout.sh --self-test >/dev/null

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' -type f 2>/dev/null)
