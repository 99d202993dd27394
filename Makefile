# sesame — the two commands a newcomer needs are `make run` and `make test`.
PY      ?= /usr/bin/python3
JOBS    ?= $(shell nproc)
FUZZ_SECONDS ?= 15
# integration tests run in parallel (python3-pytest-xdist); each test has its own server and ports
PYTEST_JOBS ?= 3
CMAKE_FLAGS ?=
# make install [PREFIX=/usr/local] [DESTDIR=staging]
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc

.PHONY: all build deps deps-test install run test unit integration integration-asan fuzz-short fuzz bench check clean

all: build

# what building and `make run` need; the test toolchain comes with deps-test
deps:
	@bash scripts/deps.sh run

deps-test:
	@bash scripts/deps.sh

build: deps
	@cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build build -j $(JOBS)

# a fresh ./var gets a demo account, key and verified identity, and the
# lines that send a first mail into the inbox (scripts/run.sh)
run: build
	@bash scripts/run.sh

# The binary, sesame(1) generated from its help, the systemd unit with its
# paths filled in, and the sample configuration (never over an existing one:
# an upgrade keeps the operator's). docs/operations.md.
install: build
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/sesame
	install -m 0755 build/sesame $(DESTDIR)$(BINDIR)/sesame
	SYSCONFDIR=$(SYSCONFDIR) bash scripts/manpage.sh build/sesame > build/sesame.1
	install -m 0644 build/sesame.1 $(DESTDIR)$(MANDIR)/man1/sesame.1
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		contrib/sesame.service > build/sesame.service
	install -m 0644 build/sesame.service $(DESTDIR)$(UNITDIR)/sesame.service
	[ -e $(DESTDIR)$(SYSCONFDIR)/sesame/sesame.conf ] || \
		install -m 0644 contrib/sesame.conf $(DESTDIR)$(SYSCONFDIR)/sesame/sesame.conf

# Unit tests with ASan+UBSan under ctest.
build-test: deps-test
	@cmake -S . -B build-test -DSESAME_TESTING=ON -DSESAME_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-test -j $(JOBS)

unit: build-test
	cd build-test && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

integration: build deps-test
	SESAME_BIN=$(CURDIR)/build/sesame $(PY) -m pytest -q -n $(PYTEST_JOBS) -p no:cacheprovider tests/integration

# The same suite on PostgreSQL (a throwaway cluster on loopback): the store
# vtable suite and every integration test, each data dir its own database.
integration-pg: build build-test
	bash scripts/with_pg.sh sh -c 'cd build-test && ./test_store && cd .. && \
	SESAME_BIN=$(CURDIR)/build/sesame $(PY) -m pytest -q -n $(PYTEST_JOBS) -p no:cacheprovider tests/integration'

# The same suite against the ASan+UBSan server: a memory error or undefined
# behaviour aborts the server and fails the test that caused it; a leak
# fails the clean-shutdown test.
integration-asan: build-test
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	SESAME_BIN=$(CURDIR)/build-test/sesame $(PY) -m pytest -q -n $(PYTEST_JOBS) -p no:cacheprovider tests/integration

build-fuzz: deps-test
	@CC=clang cmake -S . -B build-fuzz -DSESAME_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

# A short run of every fuzzer (part of `make test`); `make fuzz` runs longer.
fuzz-short: build-fuzz
	@bash scripts/fuzz.sh $(FUZZ_SECONDS)

fuzz: build-fuzz
	@bash scripts/fuzz.sh 600

check: deps-test
	@bash scripts/checksrc.sh

test: check unit integration integration-pg integration-asan fuzz-short
	@echo "make test: all suites passed"

bench: build
	@bash scripts/deps.sh bench
	@bash bench/run.sh

clean:
	rm -rf build build-test build-fuzz
