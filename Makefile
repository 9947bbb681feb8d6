# One plain Makefile. `make` builds bin/*, `make test` runs every suite,
# `make install PREFIX=/usr/local DESTDIR=` installs.
.DELETE_ON_ERROR:
.SUFFIXES:

VERSION  := 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
PKG      ?= pkg-config

WARN     := -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wshadow
HARDEN   := -fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) $(HARDEN) -D_GNU_SOURCE -DCODEX_VERSION='"$(VERSION)"' -Ilib
# What is built names no path of the checkout (debug info included).
CFLAGS   += -ffile-prefix-map=$(CURDIR)=.
LDFLAGS  += -pie -Wl,-z,relro,-z,now
ifeq ($(CI),true)
CFLAGS   += -Werror
endif
ifdef SANITIZE
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

CJSON_LIBS    := $(shell $(PKG) --libs libcjson 2>/dev/null || echo -lcjson)
SECCOMP_LIBS  := $(shell $(PKG) --libs libseccomp 2>/dev/null || echo -lseccomp)
RDKAFKA_LIBS  := $(shell $(PKG) --libs rdkafka 2>/dev/null || echo -lrdkafka)
HIREDIS_LIBS  := $(shell $(PKG) --libs hiredis 2>/dev/null || echo -lhiredis)
JQ_LIBS       := -ljq -lonig
CURL_LIBS     := $(shell $(PKG) --libs libcurl 2>/dev/null || echo -lcurl)
ZLIB_LIBS     := $(shell $(PKG) --libs zlib 2>/dev/null || echo -lz)
# lib/otel and the modules under it: what every program that exports links.
OTEL_LIBS     := $(CURL_LIBS) $(ZLIB_LIBS)

PROGRAMS := sandbox-exec judge kcat-jobs retryd pool-ctl codex-agent
SCRIPTS  := codex-service
BINS     := $(addprefix bin/,$(PROGRAMS) $(SCRIPTS))
LIB_SRC  := $(wildcard lib/*/*.c)
LIB_HDR  := $(wildcard lib/*/*.h)
LIB_OBJ  := $(LIB_SRC:lib/%.c=build/lib/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNITS    := $(UNIT_SRC:tests/unit/%.c=build/tests/%)

# What each program links: only the subsystems it uses (tests/link.bats).
bin/sandbox-exec_LIBS := $(CJSON_LIBS) $(SECCOMP_LIBS) $(JQ_LIBS) $(OTEL_LIBS) -lpthread -lm
bin/judge_LIBS        := $(CJSON_LIBS) $(JQ_LIBS) $(OTEL_LIBS) -lpthread -lm
bin/kcat-jobs_LIBS    := $(CJSON_LIBS) $(RDKAFKA_LIBS) $(HIREDIS_LIBS) $(JQ_LIBS) $(OTEL_LIBS) -lpthread -lm
bin/retryd_LIBS       := $(CJSON_LIBS) $(RDKAFKA_LIBS) $(HIREDIS_LIBS) $(OTEL_LIBS) -lpthread -lm
bin/pool-ctl_LIBS     := $(CJSON_LIBS) $(OTEL_LIBS) -lpthread
ALL_LIBS := $(CJSON_LIBS) $(SECCOMP_LIBS) $(JQ_LIBS) $(RDKAFKA_LIBS) $(HIREDIS_LIBS) $(OTEL_LIBS) -lpthread -lm

all: $(BINS) bin/codex-zygote.so

build/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

build/libcodex.a: $(LIB_OBJ)
	ar rcs $@ $^

bin/%: cmd/%/main.c build/libcodex.a $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< build/libcodex.a $($@_LIBS)

# The agent runs inside the runner image: static, so it needs nothing there.
bin/codex-agent: cmd/codex-agent/main.c build/libcodex.a $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -static-pie $(filter-out -pie,$(LDFLAGS)) -o $@ $< build/libcodex.a -l:libseccomp.a

# The zygote's part in the runtime it forks (lib/sandbox/zygote.h), loaded
# by share/harness/zygote.py: only what the zygote's children run.
ZYGOTE_SRC := lib/sandbox/zychild.c lib/sandbox/spawn.c lib/sandbox/policy.c \
	lib/sandbox/slotnet.c lib/core/util.c
bin/codex-zygote.so: $(ZYGOTE_SRC) $(LIB_HDR)
	@mkdir -p $(@D)
	$(CC) $(filter-out -fPIE,$(CFLAGS)) -fPIC -fvisibility=hidden -shared \
		-Wl,-z,relro,-z,now -o $@ $(ZYGOTE_SRC) $(SECCOMP_LIBS)

# The service's supervision is a shell script (runit does the work).
bin/codex-service: cmd/codex-service/codex-service Makefile
	@mkdir -p $(@D)
	sed 's/@VERSION@/$(VERSION)/' $< > $@.tmp && chmod 755 $@.tmp && mv $@.tmp $@

build/tests/%: tests/unit/%.c tests/unit/unit.h build/libcodex.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< build/libcodex.a $(ALL_LIBS)

# What tests/otel.bats runs: spans and metrics sent to tests/otlp/receiver.py.
build/tests/otel-emit: tests/otlp/otel-emit.c build/libcodex.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< build/libcodex.a $(ALL_LIBS)

units: $(UNITS) build/tests/otel-emit

# libFuzzer targets (tests/fuzz/): the library built again with clang,
# AddressSanitizer (LeakSanitizer with it) and UBSan. `make fuzz` runs each
# for FUZZ_TIME seconds (scripts/fuzz).
FUZZ_CC     ?= clang-14
FUZZ_TIME   ?= 60
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -DCODEX_VERSION='"$(VERSION)"' -Ilib \
	-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZERS     := $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

build/fuzz/lib/%.o: lib/%.c $(LIB_HDR)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

build/fuzz/libcodex.a: $(LIB_SRC:lib/%.c=build/fuzz/lib/%.o)
	ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h build/fuzz/libcodex.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libcodex.a $(ALL_LIBS)

fuzzers: $(FUZZERS)

fuzz:
	scripts/fuzz $(FUZZ_TIME)

# The whole suite: C unit tests, then the bats suites. scripts/test-env
# installs what is missing and prepares the machine (Go cache, dockerd,
# runner images); the dockerd it started, and only that one, is stopped at
# the end (a daemon that was running before is somebody else's).
test: all units
	CODEX_DOCKERD_OWNER=make-test:$(CURDIR) scripts/test-env
	scripts/run-tests; rc=$$?; scripts/dockerd-down --owner make-test:$(CURDIR); exit $$rc

# Only the cgroup v2 round (scripts/vm), with the sandbox's and hostile
# suites too: guests of Debian's stable kernel with cgroup v2 alone, from
# the root group and a delegated one.
test-v2: all
	scripts/run-tests --v2

check: test

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/etc/codex $(DESTDIR)$(PREFIX)/lib/codex \
		$(DESTDIR)$(PREFIX)/share/codex/harness $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 bin/codex-zygote.so $(DESTDIR)$(PREFIX)/lib/codex/
	install -m 644 etc/languages.conf $(DESTDIR)$(PREFIX)/etc/codex/
	install -m 644 share/harness/* $(DESTDIR)$(PREFIX)/share/codex/harness/
	install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf build bin

.PHONY: all units fuzzers fuzz test test-v2 check install clean
