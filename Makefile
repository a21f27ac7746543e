# crashlab - crash-testing harness and the storage engine it tests.
#
# Entry points:
#   make crashtest    the main job: a two-minute crash campaign (build/crashtest,
#                     crashing build/kvserver-crash, the server's test build,
#                     too)
#   make bench        the engine side by side with SQLite, LMDB, LevelDB and
#                     RocksDB, about five minutes (results/bench.csv, .png)
#   make              build/libcrashlab.a, build/kv, build/kvserver,
#                     build/kvbench, build/crashtest, build/kvserver-crash
#                     (kvserver with crash hooks, for crashtest only) and
#                     build/csvmeta (the CSV machine header, for scripts)
#   make test         build and run every cmocka suite and shell test, and
#                     make check-layers (non-zero exit on failure)
#   make crashtest-ci the CI crash campaigns (seed from the commit)
#   make test-slurm   a campaign as a Slurm job array plus its merge, on a
#                     one-node Slurm cluster the test starts and stops
#                     (root; installs slurm-wlm and munge)
#   make test SAN=1   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test FIU=1   the fault-injection flavour: every cmocka suite, the
#                     ones that drive libfiu (tests/test_fiu_*.c), and the
#                     shell suites that reach the fault points
#   make mutants      the planted bugs' detection matrix (mutants/*.patch):
#                     results/mutants.csv and .png; QUICK=1 for the short
#                     CI version
#   make valgrind     the quick unit suites under valgrind memcheck
#   make deps         install every Debian package any target uses (when root;
#                     each target checks only its own list, PKGS_* below)
#   make install      the programs, libraries, headers, crashlab.pc and man
#                     pages into PREFIX (/usr/local) under DESTDIR; make uninstall
#   make deb          the Debian packages, checked with lintian, installed
#                     and run (as root); make man-lint: mandoc -T lint
#   make experiments  every experiment of experiments/ (about 35 minutes):
#                     results/<name>.csv and .png; QUICK=1 runs the small
#                     versions (about 4 minutes) into build/results-quick/
#   make plots        render results/*.png again from results/*.csv
#   make bench-crashtest  crash states verified per second of fixed
#                     campaigns, per mode and for the default mix, next to
#                     the machine's fork rate: results/harness_throughput.csv
#   make bench-server kvserver against redis-server (appendfsync always)
#                     with redis-benchmark; writes results/server.csv
#   make fuzz         build the libFuzzer targets (clang) into build-fuzz/ and
#                     run each for FUZZ_SECONDS (docs/FUZZING.md)
#   make fuzz-build   only build them
#   make check-layers fail on an include, include path or call against the
#                     direction of the layers (also run by make test)
#   make format       reformat the C sources with clang-format
#   make format-check fail if a source file is not clang-format clean
#   make clean        remove every build directory
#
# Variables (make VAR=value):
#   CC        C compiler (default cc)
#   CFLAGS    extra compiler flags, added after the project's
#   LDFLAGS   extra linker flags
#   SAN=1     ASan + UBSan flavour, objects in build-asan/
#   FIU=1     libfiu fault points compiled in (-DFIU_ENABLE, -lfiu), objects
#             in build-fiu/ (both: build-fiu-asan/)
#   V=1       show full command lines
#   NODEPS=1  skip the Debian package check
#   FUZZ_SECONDS  seconds per fuzz target in make fuzz (default 60)
#   FUZZ_TARGETS  the fuzz targets make fuzz runs (default: all)
#   FUZZ_JOBS how many of them run at the same time (default 1)
#   FUZZ_CC   compiler of the fuzz targets (default clang)

CC ?= cc
SAN ?= 0
FIU ?= 0
V ?= 0
NODEPS ?= 0

# Debian packages, per use: each target checks (and, as root, installs) the
# list it needs and no more (scripts/deps.sh; NODEPS=1 skips the check), so
# the core -- make, make install, make crashtest -- needs only the compiler,
# make, pkg-config, ISA-L and the libraries of crashtest's foreign targets
# (SQLite, LMDB, LevelDB, RocksDB).  make deps installs every list.
PKGS_CORE := gcc make pkg-config libisal-dev libsqlite3-dev liblmdb-dev \
             libleveldb-dev librocksdb-dev
PKGS_FIU := libfiu-dev fiu-utils
PKGS_PEERS := libsqlite3-dev liblmdb-dev libleveldb-dev librocksdb-dev
# crashtest --target redis runs these programs (redis-server,
# redis-check-aof); nothing links them.
PKGS_REDIS := redis-server redis-tools
PKGS_TEST := libcmocka-dev python3 mandoc netcat-openbsd redis-tools strace \
             $(PKGS_PEERS) $(PKGS_REDIS)
PKGS_FUZZ := clang libclang-rt-14-dev
PKGS_PLOT := gnuplot-nox python3
PKGS_VALGRIND := valgrind libcmocka-dev
PKGS_SERVER_BENCH := redis-server redis-tools python3
PKGS_DEB := dpkg-dev debhelper fakeroot lintian mandoc man-db
PKGS_SLURM := slurm-wlm munge python3
DEPS_PKGS := $(sort $(PKGS_CORE) $(PKGS_FIU) $(PKGS_PEERS) $(PKGS_REDIS) \
             $(PKGS_TEST) \
             $(PKGS_FUZZ) $(PKGS_PLOT) $(PKGS_VALGRIND) $(PKGS_SERVER_BENCH) \
             $(PKGS_DEB) $(PKGS_SLURM))

B := build$(if $(filter 1,$(FIU)),-fiu)$(if $(filter 1,$(SAN)),-asan)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wno-missing-field-initializers
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -pthread $(WARN) -MMD -MP
BASE_LDLIBS := -lisal -lpthread

ifeq ($(SAN),1)
BASE_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
               -fno-sanitize-recover=all -O1
BASE_LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(FIU),1)
BASE_CFLAGS += -DFIU_ENABLE
BASE_LDLIBS += -lfiu
endif

ALL_CFLAGS = $(BASE_CFLAGS) $(INC) $(DEFS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(BASE_LDFLAGS) $(LDFLAGS)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# The layers, each folder compiled with only the include paths it may use
# (scripts/check-layers.sh checks the same table against the sources):
#   engine/                 itself only
#   common/                 itself only (shared helpers of everything above
#                           the engine: number parsing, RNG, file trees,
#                           clock, CSV metadata)
#   faults/                 faults, engine, common
#   harness/                harness, faults, engine, common
#   tools/<program>/        its own folder, engine, common (kvbench and
#                           kvserver's crash build: faults too)
#   tests/, fuzz/           what they test
#   examples/<program>/     its own folder, and harness/ for crashlab_ack.h
#                           (the --exec protocol) only
define LAYER_INC
$(1)/engine/%.o: INC := -Iengine
$(1)/common/%.o: INC := -Icommon
$(1)/faults/%.o: INC := -Ifaults -Iengine -Icommon
$(1)/harness/%.o: INC := -Iharness -Ifaults -Iengine -Icommon
$(1)/tools/kv/%.o: INC := -Itools/kv -Iengine -Icommon
$(1)/tools/csvmeta/%.o: INC := -Itools/csvmeta -Icommon
$(1)/tools/kvserver/%.o: INC := -Itools/kvserver -Iengine -Icommon
$(1)/kvcrash/%.o: INC := -Itools/kvserver/crash -Itools/kvserver -Ifaults -Iengine -Icommon
$(1)/tools/kvbench/%.o: INC := -Itools/kvbench -Ifaults -Iengine -Icommon
$(1)/tests/%.o: INC := -Itests -Iharness -Ifaults -Iengine -Icommon -Itools/kvserver -Itools/kvbench
$(1)/fuzz/%.o: INC := -Ifuzz -Ifaults -Iengine -Icommon -Itools/kvserver
$(1)/examples/applog/%.o: INC := -Iexamples/applog -Iharness
$(1)/examples/sqlitekv/%.o: INC := -Iexamples/sqlitekv -Iharness
endef
FB := build-fuzz
$(eval $(call LAYER_INC,$(B)))
$(eval $(call LAYER_INC,$(B)/pic))
$(eval $(call LAYER_INC,$(FB)))

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(B)/%.o)
COMMON_LIB := $(B)/libcrashlab-common.a

ENGINE_SRC := $(wildcard engine/*.c)
ENGINE_OBJ := $(ENGINE_SRC:%.c=$(B)/%.o)
LIB := $(B)/libcrashlab.a
# libcrashlab.so exports only the cl_ functions (engine/libcrashlab.map); its
# soname changes with SOVERSION, when the ABI does.
VERSION := 0.4.0
SOVERSION := 2
SHLIB := $(B)/libcrashlab.so.$(VERSION)

# faults/interpose_calls.c defines the C library's file calls and
# interpose_preload.c a constructor: neither may enter a program by way of
# the archive, only where they are linked on purpose (IP_* below).
IP_ONLY_SRC := faults/interpose_calls.c faults/interpose_preload.c
FAULTS_SRC := $(filter-out $(IP_ONLY_SRC),$(wildcard faults/*.c))
FAULTS_OBJ := $(FAULTS_SRC:%.c=$(B)/%.o)
FAULTS_LIB := $(B)/libcrashlab-faults.a

HARNESS_SRC := $(filter-out harness/crashtest%.c,$(wildcard harness/*.c))
HARNESS_OBJ := $(HARNESS_SRC:%.c=$(B)/%.o)
HARNESS_LIB := $(B)/libcrashlab-harness.a
# The harness's foreign targets (harness/target_sqlite.c, target_lmdb.c,
# target_leveldb.c, target_rocksdb.c) link their engines' libraries.
HARNESS_LDLIBS := -lsqlite3 -llmdb -lleveldb -lrocksdb
# The version a campaign's JSON summary names (crashtest --merge refuses
# shards of different versions).
$(B)/harness/report.o: DEFS := -DCL_VERSION='"$(VERSION)"'

# tests/test_fiu_*.c drive libfiu's control API: FIU=1 builds only.
TEST_SRC := $(wildcard tests/test_*.c)
ifneq ($(FIU),1)
TEST_SRC := $(filter-out tests/test_fiu_%.c,$(TEST_SRC))
endif
# The longest suites first, longest first (their times under ASan+UBSan
# in CI), so that run-tests (which runs as many at once as there are
# cores) does not end on one of them alone; test_trial_batch is the one
# long cmocka suite.
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
TEST_SLOW := tests/test_broken_targets.sh tests/test_sqlite.sh \
             tests/test_crashtest.sh tests/test_rocksdb.sh tests/test_faults.sh \
             tests/test_replay.sh tests/test_redis.sh \
             tests/test_swarm_campaign.sh tests/test_server_target.sh \
             tests/test_merge.sh tests/test_verdicts.sh \
             $(B)/tests/test_trial_batch tests/test_timeout.sh \
             tests/test_leveldb.sh tests/test_exec.sh
TEST_SCRIPTS := $(wildcard tests/test_*.sh)
# What make test runs, in this order: the slow ones of TEST_SCRIPTS and
# TEST_BIN first.
TEST_ALL = $(foreach t,$(TEST_SLOW),$(filter $(t),$(TEST_SCRIPTS) $(TEST_BIN))) \
           $(filter-out $(TEST_SLOW),$(TEST_SCRIPTS) $(TEST_BIN))
# The fault-injection flavour differs from the normal one in the engine's
# I/O (engine/io_posix.c, engine/fault_points.h) and the harness's error
# modes only: it runs every cmocka suite and the shell suites that reach
# them (the campaigns on the engine, the error modes, the installed
# flavour).  The foreign targets, servers and reports never pass a libfiu
# point; the normal and the ASan+UBSan flavours run their suites.
ifeq ($(FIU),1)
TEST_SCRIPTS := tests/test_faults.sh tests/test_crashtest.sh \
                tests/test_install.sh
endif
TESTUTIL_OBJ := $(B)/tests/testutil.o

# The libc interposer (faults/interpose.h).  A program that links it
# defines the C library's file calls and exports them (IP_LDFLAGS), so that
# the shared libraries it loads call them too; the preload object
# build/libcrashlab-preload.so carries it into programs run under
# LD_PRELOAD, built from position-independent objects in $(B)/pic/ and
# exporting only the libc names (faults/interpose.map).
IP_NAMES := open open64 openat openat64 creat creat64 __open_2 __open64_2 \
            __openat_2 __openat64_2 close write pwrite pwrite64 writev \
            pwritev pwritev64 lseek lseek64 ftruncate ftruncate64 truncate \
            truncate64 fallocate fallocate64 posix_fallocate posix_fallocate64 \
            fsync fdatasync sync_file_range syncfs rename renameat renameat2 unlink unlinkat \
            rmdir mkdir mkdirat dup dup2 dup3 fcntl fcntl64 fork mmap mmap64 \
            syscall fopen fopen64
IP_LDFLAGS := $(IP_NAMES:%=-Wl,--export-dynamic-symbol=%)
IP_OBJ := $(B)/faults/interpose_calls.o
PRELOAD := $(B)/libcrashlab-preload.so
PRELOAD_SRC := $(filter-out faults/interpose_spawn.c,\
                 $(wildcard faults/interpose*.c faults/crashio*.c)) \
               faults/shadow_writer.c faults/shadow_reader.c engine/crc32c.c \
               $(COMMON_SRC)
PRELOAD_OBJ := $(PRELOAD_SRC:%.c=$(B)/pic/%.o)

# kvbench: the workloads and our adapter (also linked into its test), and
# the peers' adapters.  bench_fsync.c defines fsync and fdatasync to count
# them; the export makes the peers' shared libraries bind to it.
BENCH_SRC := $(filter-out tools/kvbench/kvbench.c,$(wildcard tools/kvbench/*.c))
BENCH_OBJ := $(BENCH_SRC:%.c=$(B)/%.o)
BENCH_PEER_SRC := $(wildcard tools/kvbench/peers/*.c)
BENCH_PEER_OBJ := $(BENCH_PEER_SRC:%.c=$(B)/%.o)
BENCH_LDLIBS := -lsqlite3 -llmdb -lleveldb -lrocksdb
BENCH_LDFLAGS := -Wl,--export-dynamic-symbol=fsync \
                 -Wl,--export-dynamic-symbol=fdatasync

TOOLS := $(B)/kv $(B)/kvserver $(B)/kvserver-crash $(B)/kvbench $(B)/crashtest \
         $(B)/csvmeta $(PRELOAD)
KVSERVER_SRC := $(wildcard tools/kvserver/*.c)
KVSERVER_OBJ := $(KVSERVER_SRC:%.c=$(B)/%.o)
# build/kvserver-crash, the test-only server that crashtest's server trials
# run: the same sources compiled with KVSERVER_CRASH, which adds the crash
# hooks (tools/kvserver/crash/: the crash-simulating I/O table of faults/)
# and the deliberately broken acknowledgements.  The shipped kvserver has
# neither (scripts/check-layers.sh checks its symbols).
KVCRASH_SRC := $(KVSERVER_SRC) $(wildcard tools/kvserver/crash/*.c)
KVCRASH_OBJ := $(patsubst %.c,$(B)/kvcrash/%.o,$(notdir $(KVCRASH_SRC)))

# Fuzz targets (fuzz/): each decoder of on-disk bytes is also built with
# -DFZ_FIXCRC as <name>_fixcrc, the variant that fixes checksums before
# decoding; fuzz_proto is kvserver's request parsers.  With the project's
# compiler each target becomes a replay driver (fuzz/replay.c) that make test
# runs over fuzz/regress/<target>/ and the generated seed corpus; with clang
# and libFuzzer (make fuzz) the fuzzers go into build-fuzz/.
FUZZ_NAMES := fuzz_wal fuzz_page fuzz_btree fuzz_replay fuzz_superblock \
              fuzz_open fuzz_shadow
FUZZ_ALL := $(FUZZ_NAMES) $(FUZZ_NAMES:=_fixcrc) fuzz_proto
FUZZ_REPLAY := $(FUZZ_ALL:%=$(B)/fuzz/replay_%)
FUZZ_CORPUS := $(B)/fuzz/corpus/.stamp
FUZZ_UTIL_OBJ := $(B)/fuzz/fuzz_util.o

.PHONY: all examples deps test test-slurm valgrind crashtest crashtest-ci bench \
        bench-crashtest \
        bench-server mutants check-io check-layers format format-check clean \
        fuzz fuzz-build experiments plots install uninstall deb man-lint
.SECONDARY:

# make: the core only (the engine, kv, kvserver, crashtest), which needs
# nothing but the compiler, make, pkg-config and ISA-L.
CORE_TOOLS := $(B)/kv $(B)/kvserver $(B)/kvserver-crash $(B)/crashtest \
              $(B)/csvmeta $(PRELOAD)
all: deps-core $(LIB) $(SHLIB) $(CORE_TOOLS)

# The build of this flavour needs the core packages, and libfiu for FIU=1.
PKGS_BUILD := $(PKGS_CORE) $(if $(filter 1,$(FIU)),$(PKGS_FIU))
DEPS_CHECK = $(if $(filter 1,$(NODEPS)),@:,@scripts/deps.sh $(1))

deps:
	$(call DEPS_CHECK,$(DEPS_PKGS))
deps-core:
	$(call DEPS_CHECK,$(PKGS_BUILD))
deps-test:
	$(call DEPS_CHECK,$(PKGS_BUILD) $(PKGS_TEST))
deps-bench:
	$(call DEPS_CHECK,$(PKGS_BUILD) $(PKGS_PEERS))
deps-fuzz:
	$(call DEPS_CHECK,$(PKGS_CORE) $(PKGS_FUZZ))
deps-experiments:
	$(call DEPS_CHECK,$(PKGS_BUILD) $(PKGS_PEERS) $(PKGS_FIU) $(PKGS_PLOT) \
	    $(PKGS_REDIS))
deps-plot:
	$(call DEPS_CHECK,$(PKGS_PLOT))
deps-valgrind:
	$(call DEPS_CHECK,$(PKGS_BUILD) $(PKGS_TEST) $(PKGS_VALGRIND))
deps-server-bench:
	$(call DEPS_CHECK,$(PKGS_BUILD) $(PKGS_SERVER_BENCH))
deps-deb:
	$(call DEPS_CHECK,$(PKGS_CORE) $(PKGS_DEB))
deps-slurm:
	$(call DEPS_CHECK,$(PKGS_BUILD) $(PKGS_SLURM))

# What only some programs need: the test suites cmocka, kvbench its peers.
$(TEST_SRC:%.c=$(B)/%.o) $(TESTUTIL_OBJ) $(TEST_BIN): | deps-test
$(BENCH_PEER_OBJ) $(B)/kvbench: | deps-bench

$(B)/%.o: %.c | deps-core
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

# The preload object is never built with the sanitizers: their runtime must
# come first in a process, and the programs it is preloaded into have none.
PRELOAD_CFLAGS = $(filter-out -fsanitize=% -fno-sanitize-recover=%,\
                   $(ALL_CFLAGS))
$(B)/pic/%.o: %.c | deps-core
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(PRELOAD_CFLAGS) -fPIC -c $< -o $@

$(PRELOAD): $(PRELOAD_OBJ) faults/interpose.map
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(PRELOAD_CFLAGS) $(LDFLAGS) -shared -fPIC \
	    -Wl,--version-script=faults/interpose.map -Wl,--no-undefined \
	    $(PRELOAD_OBJ) -o $@ $(BASE_LDLIBS)

$(LIB): $(ENGINE_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(FAULTS_LIB): $(FAULTS_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(COMMON_LIB): $(COMMON_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(HARNESS_LIB): $(HARNESS_OBJ)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

CRASHTEST_OBJ := $(patsubst %.c,$(B)/%.o,$(wildcard harness/crashtest*.c))
# crashtest links the libc interposer on purpose: a library target's
# writer (target_ops.interposed) starts it; until then every call passes
# straight to the C library.
$(B)/crashtest: $(CRASHTEST_OBJ) $(IP_OBJ) $(HARNESS_LIB) $(FAULTS_LIB) \
               $(COMMON_LIB) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(IP_LDFLAGS) $^ -o $@ \
	    $(HARNESS_LDLIBS) $(BASE_LDLIBS)

# The machine header of a CSV for shell scripts (common/csvmeta.h).
$(B)/csvmeta: $(B)/tools/csvmeta/csvmeta.o $(COMMON_LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(BASE_LDLIBS)

$(B)/kv: $(B)/tools/kv/kv.o $(COMMON_LIB) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(BASE_LDLIBS)

$(B)/kvserver: $(KVSERVER_OBJ) $(COMMON_LIB) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(BASE_LDLIBS)

$(B)/kvcrash/%.o: tools/kvserver/%.c | deps-core
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -DKVSERVER_CRASH -c $< -o $@

$(B)/kvcrash/%.o: tools/kvserver/crash/%.c | deps-core
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -DKVSERVER_CRASH -c $< -o $@

$(B)/kvserver-crash: $(KVCRASH_OBJ) $(FAULTS_LIB) $(COMMON_LIB) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(BASE_LDLIBS)

# The worked example of crashtest --exec (docs/TARGETS.md): a program on a
# plain append-and-fsync log, its deliberately wrong variants (a rename
# without an fsync of the directory; a failed fsync retried) and the
# program that reads the log back.  Plain programs: nothing of crashlab
# is linked in.
EXAMPLES := $(B)/examples/bin/applog $(B)/examples/bin/applog-broken \
            $(B)/examples/bin/applog-fsync-retry $(B)/examples/bin/applog-verify
$(B)/examples/applog/applog_broken.o: examples/applog/applog.c | deps-core
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -DAPPLOG_NO_DIRSYNC -c $< -o $@
$(B)/examples/applog/applog_fsync_retry.o: examples/applog/applog.c | deps-core
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -DAPPLOG_FSYNC_RETRY -c $< -o $@
$(B)/examples/bin/applog-broken: $(B)/examples/applog/applog_broken.o
$(B)/examples/bin/applog-fsync-retry: $(B)/examples/applog/applog_fsync_retry.o
$(B)/examples/bin/applog: $(B)/examples/applog/applog.o
$(B)/examples/bin/applog-verify: $(B)/examples/applog/applog_verify.o
$(EXAMPLES):
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@
# SQLite under --exec, in journal_mode=DELETE (examples/sqlitekv): needs
# libsqlite3-dev, so only the test suite builds it.
SQLITE_EXAMPLES := $(B)/examples/bin/sqlitekv $(B)/examples/bin/sqlitekv-verify
$(B)/examples/bin/sqlitekv: $(B)/examples/sqlitekv/sqlitekv.o
$(B)/examples/bin/sqlitekv-verify: $(B)/examples/sqlitekv/sqlitekv_verify.o
$(SQLITE_EXAMPLES):
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ -lsqlite3
$(SQLITE_EXAMPLES) $(B)/examples/sqlitekv/sqlitekv.o \
    $(B)/examples/sqlitekv/sqlitekv_verify.o: | deps-test
examples: $(EXAMPLES)
# Programs run under the preload object carry no sanitizer runtime (it
# would have to come before the preload object); the setting reaches
# their objects too.
$(EXAMPLES) $(SQLITE_EXAMPLES) $(B)/tests/ip_workload: BASE_CFLAGS := $(filter-out \
    -fsanitize=% -fno-sanitize-recover=%,$(BASE_CFLAGS))
$(EXAMPLES) $(SQLITE_EXAMPLES) $(B)/tests/ip_workload: BASE_LDFLAGS :=

# Test helpers of the interposer: ip_area drives the preload object,
# ip_workload is a plain program (nothing of crashlab in it) for it to run.
IP_HELPERS := $(B)/tests/ip_area $(B)/tests/ip_workload
$(B)/tests/ip_area: $(B)/tests/ip_area.o $(FAULTS_LIB) $(COMMON_LIB) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(BASE_LDLIBS)
$(B)/tests/ip_workload: $(B)/tests/ip_workload.o
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@

# The interposer linked into the executable, and SQLite's library calling
# it.
$(B)/tests/test_interpose: $(B)/tests/test_interpose.o $(TESTUTIL_OBJ) \
                           $(IP_OBJ) $(FAULTS_LIB) $(COMMON_LIB) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(IP_LDFLAGS) $^ -o $@ -lcmocka \
	    -lsqlite3 $(BASE_LDLIBS)

# The protocol parsers are unit-tested directly; the server's integration
# test runs the kvserver binary built next to it.
$(B)/tests/test_proto: $(B)/tools/kvserver/proto.o
$(B)/tests/test_kvserver: | $(B)/kvserver

$(B)/kvbench: $(B)/tools/kvbench/kvbench.o $(BENCH_OBJ) $(BENCH_PEER_OBJ) \
              $(FAULTS_LIB) $(COMMON_LIB) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(BENCH_LDFLAGS) $^ -o $@ \
	    $(BENCH_LDLIBS) $(BASE_LDLIBS)

$(B)/tests/test_kvbench: $(B)/tests/test_kvbench.o $(TESTUTIL_OBJ) \
                         $(BENCH_OBJ) $(FAULTS_LIB) $(COMMON_LIB) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ -lcmocka $(BASE_LDLIBS)

# test_wal counts the bytes the log reader checksums (rule R7's look-ahead
# must stay linear): every crc32c_extend call goes through its wrapper.
$(B)/tests/test_wal: ALL_LDFLAGS += -Wl,--wrap=crc32c_extend

$(B)/tests/%: $(B)/tests/%.o $(TESTUTIL_OBJ) $(HARNESS_LIB) $(FAULTS_LIB) \
              $(COMMON_LIB) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ -lcmocka \
	    $(HARNESS_LDLIBS) $(BASE_LDLIBS)

# The main job: the default crash campaign, every crash mode and workload on
# the engine's default settings for about two minutes, with one trial in 127
# crashing kvserver under concurrent clients (CRASHTEST_ARGS replaces the
# options: make crashtest CRASHTEST_ARGS="--trials 500").  The server
# trials run the kvserver-crash built next to crashtest (the server with
# its crash hooks).
CRASHTEST_ARGS ?= --duration 120
crashtest: deps-core $(B)/crashtest $(B)/kvserver-crash
	$(B)/crashtest $(CRASHTEST_ARGS)

# The CI campaigns, seed from the commit (scripts/ci-crashtest.sh).
CI_TRIALS ?= 1000
crashtest-ci: deps-core $(B)/crashtest $(B)/kvserver-crash
	@CRASHTEST=$(B)/crashtest scripts/ci-crashtest.sh $(CI_TRIALS)

# Every planted bug (mutants/<name>.patch, applied to a scratch copy of the
# engine by scripts/mutant-build.sh) under the campaigns its patch names and
# the default campaign, and the same campaigns on the unmutated engine:
# experiments/mutants.sh, which writes results/mutants.csv and renders
# results/mutants.png.  QUICK=1: only the named campaigns, 100 trials each,
# into build/results-quick/ (the CI version).
QUICK ?= 0
mutants: deps-core deps-plot
	@$(MAKE) --no-print-directory FIU=1 SAN=0 build-fiu/crashtest \
	    build-fiu/kvserver-crash build-fiu/csvmeta
	@QUICK=$(QUICK) BUILD=build-fiu \
	    EXP_OUT=$(if $(filter 1,$(QUICK)),build/results-quick,results) \
	    experiments/mutants.sh

# A crashtest and a kvserver-crash built against another copy of the engine's
# sources (scripts/mutant-build.sh): MUTANT_SRC is that engine folder,
# MUTANT_B the folder of its objects and programs.  Everything else comes
# from the build of the same flavour.  A planted bug may leave a variable or a function
# unused: those warnings are not errors here.
ifneq ($(MUTANT_SRC),)
MUTANT_OBJ := $(patsubst $(MUTANT_SRC)/%.c,$(MUTANT_B)/engine/%.o,\
                $(wildcard $(MUTANT_SRC)/*.c))
MUTANT_CFLAGS := -Wno-unused-variable -Wno-unused-but-set-variable \
                 -Wno-unused-function -Wno-unused-parameter

$(MUTANT_B)/engine/%.o: INC := -I$(MUTANT_SRC)
$(MUTANT_B)/engine/%.o: $(MUTANT_SRC)/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(MUTANT_CFLAGS) -c $< -o $@

$(MUTANT_B)/crashtest: $(CRASHTEST_OBJ) $(IP_OBJ) $(HARNESS_LIB) \
                       $(FAULTS_LIB) $(COMMON_LIB) $(MUTANT_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(IP_LDFLAGS) $^ -o $@ \
	    $(HARNESS_LDLIBS) $(BASE_LDLIBS)

$(MUTANT_B)/kvserver-crash: $(KVCRASH_OBJ) $(FAULTS_LIB) $(COMMON_LIB) \
                            $(MUTANT_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(BASE_LDLIBS)
endif

# A campaign as a Slurm job array and its merge (scripts/slurm/), on a
# one-node Slurm cluster of this machine that the test starts and stops
# itself; exit 77 (skipped, which is not a pass) where it cannot run the
# daemons (not root).
test-slurm: deps-slurm $(B)/crashtest
	@CRASHTEST=$(B)/crashtest scripts/slurm/test-slurm.sh

# A benchmark, not a test: crash states per second of fixed campaigns, per
# mode and for the default mix, next to the machine's fork + exit + wait
# rate and an open and close of an empty database: the experiment
# harness_throughput, written to results/ (BENCH_TRIALS and
# BENCH_MODE_TRIALS size its campaigns).
BENCH_TRIALS ?= 2000
BENCH_MODE_TRIALS ?= 700
bench-crashtest: deps-core deps-plot $(B)/crashtest $(B)/kvserver-crash $(B)/kvbench \
                 $(B)/csvmeta
	@BUILD=$(B) EXP_OUT=results TRIALS=$(BENCH_TRIALS) \
	    MODE_TRIALS=$(BENCH_MODE_TRIALS) experiments/harness_throughput.sh

test: deps-test $(LIB) $(SHLIB) $(TOOLS) $(TEST_BIN) $(IP_HELPERS) $(EXAMPLES) \
      $(SQLITE_EXAMPLES) check-io $(FUZZ_REPLAY) $(FUZZ_CORPUS)
	@BUILD=$(B) scripts/check-layers.sh
	@FLAVOUR_CFLAGS="$(filter -fsanitize=%,$(BASE_CFLAGS))" \
	    FLAVOUR_LIBS="$(filter -lfiu,$(BASE_LDLIBS))" \
	    KV=$(B)/kv KVBENCH=$(B)/kvbench CRASHTEST=$(B)/crashtest \
	    FUZZ_DIR=$(B)/fuzz \
	    scripts/run-tests.sh $(TEST_ALL)

# Replay drivers and the seed corpus generator, with the project's compiler.
$(B)/fuzz/%_fixcrc.o: fuzz/%.c | deps-core
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) $(ALL_CFLAGS) -DFZ_FIXCRC -c $< -o $@

$(B)/fuzz/replay_%: $(B)/fuzz/%.o $(B)/fuzz/replay.o $(FUZZ_UTIL_OBJ) \
                    $(B)/tools/kvserver/proto.o $(FAULTS_LIB) $(COMMON_LIB) \
                    $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(BASE_LDLIBS)

$(B)/fuzz/mkcorpus: $(B)/fuzz/mkcorpus.o $(FUZZ_UTIL_OBJ) $(FAULTS_LIB) \
                    $(COMMON_LIB) $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $^ -o $@ $(BASE_LDLIBS)

# Seeds are generated, not committed: databases written by this build of
# the engine, so they follow any change of the format.
$(FUZZ_CORPUS): $(B)/fuzz/mkcorpus
	$(Q)rm -rf $(B)/fuzz/corpus
	$(Q)$(B)/fuzz/mkcorpus corpus $(B)/fuzz/corpus
	$(Q)touch $@

# ---- libFuzzer targets (clang): build-fuzz/<target> -----------------------
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -g -O1 -pthread $(WARN) -MMD -MP \
              $(INC) $(FUZZ_SAN)
# The engine and faults/ get coverage instrumentation without libFuzzer's
# main; only the targets link it.
FUZZ_LIB_OBJ := $(ENGINE_SRC:%.c=$(FB)/%.o) $(FAULTS_SRC:%.c=$(FB)/%.o) \
                $(COMMON_SRC:%.c=$(FB)/%.o) $(FB)/fuzz/fuzz_util.o \
                $(FB)/tools/kvserver/proto.o
FUZZ_BINS := $(FUZZ_ALL:%=$(FB)/%)

$(FB)/%.o: %.c | deps-fuzz
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FB)/fuzz/%_fixcrc.o: fuzz/%.c | deps-fuzz
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -DFZ_FIXCRC \
	    -c $< -o $@

$(FUZZ_BINS): $(FB)/%: $(FB)/fuzz/%.o $(FUZZ_LIB_OBJ)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@ $(BASE_LDLIBS)

fuzz-build: deps-fuzz $(FUZZ_BINS)

# Run each target in turn (FUZZ_JOBS at a time) for FUZZ_SECONDS; a crash is
# saved under fuzz/crashes/<target>/ with the command that reproduces it.
fuzz: fuzz-build $(FUZZ_CORPUS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_BIN=$(FB) \
	    FUZZ_CORPUS=$(B)/fuzz/corpus fuzz/run.sh $(FUZZ_TARGETS)

# The side-by-side benchmark: every workload on every engine, interleaved,
# three rounds, on the real disk under the project folder (BENCH_DIR); see
# docs/BENCH.md.  Writes results/bench.csv and results/bench.png.
BENCH_DIR ?= $(B)/bench-data
bench: deps-bench $(B)/kvbench
	@BENCH_DIR=$(BENCH_DIR) KVBENCH=$(B)/kvbench BENCH_VIA="make bench" \
	    experiments/bench.sh

# The experiments (experiments/<name>.sh + <name>.gp, run by
# experiments/all.sh): the full versions write the committed results/;
# QUICK=1 (what CI runs) writes build/results-quick/ and never touches
# results/.  The mutants experiment builds the planted bugs in the
# fault-injection flavour (the error modes need libfiu).
EXPERIMENTS := recovery_vs_log_size checkpoint_interval sync_writers \
               torn_protection crashpoint_sweep mutants bench \
               harness_throughput foreign_engines
# EXPERIMENTS_SKIP: experiments left out of this run (CI runs the planted
# bugs' matrix as a step of its own: make mutants).
EXPERIMENTS_SKIP ?=
EXP_OUT := $(if $(filter 1,$(QUICK)),$(B)/results-quick,results)
experiments: deps-experiments $(B)/crashtest $(B)/kvbench \
             $(B)/kvserver-crash $(B)/csvmeta $(PRELOAD)
	@$(MAKE) --no-print-directory FIU=1 SAN=0 build-fiu/crashtest \
	    build-fiu/kvserver-crash build-fiu/csvmeta
	@QUICK=$(QUICK) BUILD=$(B) EXP_OUT=$(EXP_OUT) \
	    experiments/all.sh $(filter-out $(EXPERIMENTS_SKIP),$(EXPERIMENTS))

plots: deps-plot
	@EXP_OUT=$(EXP_OUT) experiments/plots.sh $(EXPERIMENTS)

# A short valgrind run of the quick unit suites (memcheck, leaks are errors).
VALGRIND_TESTS := test_crc32c test_wal test_pager test_api
valgrind: deps-valgrind $(VALGRIND_TESTS:%=$(B)/tests/%)
	@for t in $(VALGRIND_TESTS); do \
	    echo "== valgrind $(B)/tests/$$t"; \
	    valgrind -q --error-exitcode=99 --leak-check=full \
	        --errors-for-leak-kinds=definite $(B)/tests/$$t >$(B)/tests/$$t.vg 2>&1 \
	        || { cat $(B)/tests/$$t.vg; echo "valgrind: $$t FAILED"; exit 1; }; \
	    tail -1 $(B)/tests/$$t.vg; \
	done

check-io:
	@scripts/check-io.sh

# No include, include path or call against the direction of the layers,
# and no test machinery in the shipped kvserver (scripts/check-layers.sh).
check-layers: deps-core $(LIB) $(CORE_TOOLS)
	@BUILD=$(B) scripts/check-layers.sh

bench-server: deps-server-bench $(B)/kvserver $(B)/csvmeta
	@scripts/bench-server.sh $(B)/kvserver

# ---- the shared library, install and uninstall ------------------------------

# The engine's objects are position-independent, for the shared library.
# They depend on the export map, which came with -fPIC, so that a build
# directory made before compiles them again.
$(ENGINE_OBJ): BASE_CFLAGS += -fPIC
$(ENGINE_OBJ): engine/libcrashlab.map

$(SHLIB): $(ENGINE_OBJ) engine/libcrashlab.map
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -shared \
	    -Wl,-soname,libcrashlab.so.$(SOVERSION) \
	    -Wl,--version-script=engine/libcrashlab.map \
	    $(ENGINE_OBJ) -o $@ $(BASE_LDLIBS)

# make install [PREFIX=/usr/local] [DESTDIR=] [LIBDIR=$(PREFIX)/lib] ...:
# kv, kvserver and crashtest, kvserver-crash (the server build crashtest's
# server trials drive) in LIBEXECDIR/crashlab/, where crashtest looks for it
# as ../libexec/crashlab/ beside its own folder, libcrashlab.a and .so, the
# public headers in include/crashlab/, crashlab.pc and the man pages.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
LIBEXECDIR ?= $(PREFIX)/libexec
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL_PROGS := kv kvserver crashtest
INSTALL_HEADERS := engine/crashlab.h engine/cl_io.h
MAN1 := $(wildcard man/*.1)
MAN3 := $(wildcard man/*.3)

install: $(INSTALL_PROGS:%=$(B)/%) $(B)/kvserver-crash $(LIB) $(SHLIB)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(LIBEXECDIR)/crashlab \
	    $(DESTDIR)$(INCLUDEDIR)/crashlab $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 755 $(INSTALL_PROGS:%=$(B)/%) $(DESTDIR)$(BINDIR)/
	install -m 755 $(B)/kvserver-crash $(DESTDIR)$(LIBEXECDIR)/crashlab/
	install -m 644 $(LIB) $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libcrashlab.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/libcrashlab.so.$(SOVERSION)
	ln -sf libcrashlab.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libcrashlab.so
	install -m 644 $(INSTALL_HEADERS) $(DESTDIR)$(INCLUDEDIR)/crashlab/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    engine/crashlab.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/crashlab.pc
	install -m 644 $(MAN1) $(DESTDIR)$(MANDIR)/man1/
	install -m 644 $(MAN3) $(DESTDIR)$(MANDIR)/man3/

uninstall:
	rm -f $(INSTALL_PROGS:%=$(DESTDIR)$(BINDIR)/%) \
	    $(DESTDIR)$(LIBEXECDIR)/crashlab/kvserver-crash \
	    $(DESTDIR)$(LIBDIR)/libcrashlab.a \
	    $(DESTDIR)$(LIBDIR)/libcrashlab.so \
	    $(DESTDIR)$(LIBDIR)/libcrashlab.so.$(SOVERSION) \
	    $(DESTDIR)$(LIBDIR)/libcrashlab.so.$(VERSION) \
	    $(INSTALL_HEADERS:engine/%=$(DESTDIR)$(INCLUDEDIR)/crashlab/%) \
	    $(DESTDIR)$(PKGCONFIGDIR)/crashlab.pc \
	    $(MAN1:man/%=$(DESTDIR)$(MANDIR)/man1/%) \
	    $(MAN3:man/%=$(DESTDIR)$(MANDIR)/man3/%)
	-rmdir $(DESTDIR)$(INCLUDEDIR)/crashlab $(DESTDIR)$(LIBEXECDIR)/crashlab

# The Debian packages (debian/: crashlab, libcrashlab2, libcrashlab-dev):
# dpkg-buildpackage from the committed tree, lintian (an error fails), and,
# as root, dpkg -i, the installed crashtest, kv and a program built with
# pkg-config, then dpkg -r (scripts/deb.sh).  The .deb files: build/deb/.
deb: deps-deb
	@scripts/deb.sh build/deb

# mandoc's lint of the man pages (warnings fail; make test runs it too).
man-lint:
	$(call DEPS_CHECK,mandoc)
	mandoc -T lint -W warning $(MAN1) $(MAN3)

FORMAT_SRC = $(wildcard engine/*.[ch] common/*.[ch] faults/*.[ch] \
             examples/*/*.[ch] \
             harness/*.[ch] tools/*/*.[ch] tools/*/*/*.[ch] tests/*.[ch] \
             fuzz/*.[ch])

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	clang-format --dry-run -Werror $(FORMAT_SRC)

clean:
	rm -rf build build-asan build-fiu build-fiu-asan build-fuzz build-mutants

-include $(ENGINE_OBJ:.o=.d) $(COMMON_OBJ:.o=.d) $(FAULTS_OBJ:.o=.d) \
         $(HARNESS_OBJ:.o=.d) $(CRASHTEST_OBJ:.o=.d) $(PRELOAD_OBJ:.o=.d) \
         $(IP_OBJ:.o=.d) $(IP_HELPERS:=.d) $(wildcard $(B)/examples/*/*.d) \
         $(TEST_BIN:=.d) \
         $(TESTUTIL_OBJ:.o=.d) $(B)/tools/kv/kv.d $(B)/tools/csvmeta/csvmeta.d \
         $(KVSERVER_OBJ:.o=.d) \
         $(B)/tools/kvbench/kvbench.d $(KVCRASH_OBJ:.o=.d) \
         $(BENCH_OBJ:.o=.d) $(BENCH_PEER_OBJ:.o=.d) \
         $(wildcard $(B)/fuzz/*.d) $(FUZZ_LIB_OBJ:.o=.d) \
         $(FUZZ_BINS:$(FB)/%=$(FB)/fuzz/%.d)
