# libsse: `make demo` (the main job), `make test` (every suite), `make bench`.
#
#   make                 the libraries (target/release/libsse.{so,a}), include/sse.h, build/ssecat
#   make demo            the bundled server + build/ssecat, a few seconds of live events
#   make test            every suite; installs what it needs when missing
#   make tsan / make miri   ThreadSanitizer / Miri runs (nightly Rust; skipped without it)
#   make install PREFIX=/usr/local [DESTDIR=]   headers, libsse.so.0 (SONAME) and
#                        libsse.a (stripped), sse.pc, CMake package, ssecat, man pages
#   make wheel           the self-contained manylinux Python wheel in dist/
SHELL := /bin/bash
CARGO ?= cargo
CC ?= cc
CXX ?= c++
PYTHON ?= python3

PREFIX ?= /usr/local
DESTDIR ?=
INSTALL_LIBDIR ?= $(PREFIX)/lib
INSTALL_INCLUDEDIR ?= $(PREFIX)/include
INSTALL_BINDIR ?= $(PREFIX)/bin

VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
LIBDIR := target/release
ABS_LIBDIR := $(abspath $(LIBDIR))
BUILD := build
SERVER := $(LIBDIR)/sse-demo-server
# What a program linking libsse.a statically needs besides it
# (`cargo rustc -- --print native-static-libs`); also sse.pc's Libs.private.
STATIC_LIBS := -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc

CWARN := -Wall -Wextra -Werror
CFLAGS_EXAMPLE := -std=c11 -O2 -g $(CWARN) -Iinclude
CFLAGS_TEST := -std=c11 -g $(CWARN) -Iinclude -Itests/c -D_GNU_SOURCE \
	-DSSE_CARGO_VERSION='"$(VERSION)"'
CXXFLAGS_TEST := -std=c++17 -g $(CWARN) -Iinclude -Itests/c
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
# Sanitizer binaries: built with the compiler scripts/asan-cc.sh found
# (gcc's libasan, or clang once ensure-c-deps installed it).
ASAN_CC = $(shell scripts/asan-cc.sh)
ASAN_CXX = $(shell scripts/asan-cc.sh --cxx)
LINK_SHARED := -L$(LIBDIR) -lsse -Wl,-rpath,$(ABS_LIBDIR) -lpthread

.PHONY: all build cargo-build test test-rust lint bench stress fuzz tsan miri deps deps-c \
	demo test-c test-c-asan test-c-valgrind test-ssecat test-hostile test-proxy test-header test-install \
	test-python test-go install install-strip uninstall clean-c \
	pkg-files wheel test-packaging

all: build

build: $(BUILD)/ssecat

# Cargo decides what is stale; the libraries' timestamps then tell make.
cargo-build:
	$(CARGO) build --release
	@ln -sfn libsse.so $(LIBDIR)/libsse.so.$(firstword $(subst ., ,$(VERSION)))

$(LIBDIR)/libsse.a $(LIBDIR)/libsse.so $(SERVER) include/sse.h &: cargo-build
	@:

# ssecat links libsse.a: one self-contained binary (also once installed).
$(BUILD)/ssecat: examples/ssecat.c include/sse.h $(LIBDIR)/libsse.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_EXAMPLE) -o $@ $< $(LIBDIR)/libsse.a $(STATIC_LIBS)

deps:
	@./scripts/ensure-deps.sh

deps-c:
	@./scripts/ensure-c-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

# The client suites a second time with every client driven by its caller
# (sse_config_set_driven_by_caller); tests that need a background reader
# say they are skipped.
DRIVEN_SUITES := client_close_connect client_features client_hostile client_lifecycle \
	client_protocol client_reconnect client_tls_proxy client_waitset client_loop client_proxy_env

test-rust:
	$(CARGO) test --release
	LIBSSE_TEST_DRIVEN=1 $(CARGO) test --release $(addprefix --test ,$(DRIVEN_SUITES))

# Every suite. The C ones after the Rust ones: they share the build.
test: deps lint test-rust test-c test-hostile test-proxy test-header test-install test-python test-go test-packaging

bench:
	benches/run-all.sh

# The long tests: the fault test over many seeds, the parser differential
# at millions of cases, 10,000 streams in one process (against demo server
# processes: $(SERVER)).
stress: $(SERVER)
	SSE_STRESS=1 $(CARGO) test --release -- --ignored --nocapture

fuzz:
	@./scripts/fuzz.sh

# ThreadSanitizer on libsse (nightly, -Zbuild-std) and the C concurrency
# tests; Miri on the pure unit tests and the C ABI's strings. Nightly
# only (skipped with a message without it); not part of `make test`.
tsan: $(SERVER)
	@./scripts/tsan.sh

miri:
	@./scripts/miri.sh

# ------------------------------------------------------------------ demo

demo: $(BUILD)/ssecat $(SERVER)
	@./scripts/demo.sh $(BUILD)/ssecat $(SERVER)

# --------------------------------------------------------------- C tests

C_TESTS := test_vectors test_client test_abi test_cpp test_misuse test_features
TEST_HDRS := tests/c/harness.h include/sse.h
ASAN_DIR := $(BUILD)/tests/asan
PLAIN_DIR := $(BUILD)/tests/plain

$(ASAN_DIR)/harness.o: tests/c/harness.c $(TEST_HDRS) | deps-c
	@mkdir -p $(@D)
	$(ASAN_CC) $(CFLAGS_TEST) -O1 $(SAN) -c -o $@ $<
$(PLAIN_DIR)/harness.o: tests/c/harness.c $(TEST_HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_TEST) -O1 -c -o $@ $<

$(ASAN_DIR)/%: tests/c/%.c $(ASAN_DIR)/harness.o $(TEST_HDRS) $(LIBDIR)/libsse.so | deps-c
	$(ASAN_CC) $(CFLAGS_TEST) -O1 $(SAN) -o $@ $< $(ASAN_DIR)/harness.o $(LINK_SHARED)
$(PLAIN_DIR)/%: tests/c/%.c $(PLAIN_DIR)/harness.o $(TEST_HDRS) $(LIBDIR)/libsse.so
	$(CC) $(CFLAGS_TEST) -O1 -o $@ $< $(PLAIN_DIR)/harness.o $(LINK_SHARED)

$(ASAN_DIR)/test_cpp: tests/c/test_cpp.cpp include/sse.hpp $(ASAN_DIR)/harness.o $(TEST_HDRS) $(LIBDIR)/libsse.so | deps-c
	$(ASAN_CXX) $(CXXFLAGS_TEST) -O1 $(SAN) -o $@ $< $(ASAN_DIR)/harness.o $(LINK_SHARED)
$(PLAIN_DIR)/test_cpp: tests/c/test_cpp.cpp include/sse.hpp $(PLAIN_DIR)/harness.o $(TEST_HDRS) $(LIBDIR)/libsse.so
	$(CXX) $(CXXFLAGS_TEST) -O1 -o $@ $< $(PLAIN_DIR)/harness.o $(LINK_SHARED)

# ssecat against the shared library, with sanitizers, for its own suite.
$(ASAN_DIR)/ssecat: examples/ssecat.c include/sse.h $(LIBDIR)/libsse.so | deps-c
	@mkdir -p $(@D)
	$(ASAN_CC) $(CFLAGS_EXAMPLE) -O1 $(SAN) -o $@ $< $(LINK_SHARED)

# The example of a program's own poll() loop running many streams (sse_loop).
$(BUILD)/poll-loop-example: examples/poll_loop.c include/sse.h $(LIBDIR)/libsse.so
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_EXAMPLE) -o $@ $< $(LINK_SHARED)

# The C++ example.
$(BUILD)/sse-cpp-example: examples/cpp/events.cpp include/sse.hpp include/sse.h $(LIBDIR)/libsse.so
	@mkdir -p $(@D)
	$(CXX) -std=c++17 -O2 -g $(CWARN) -Iinclude -o $@ $< $(LINK_SHARED)

ASAN_BINS := $(addprefix $(ASAN_DIR)/,$(C_TESTS) ssecat)
PLAIN_BINS := $(addprefix $(PLAIN_DIR)/,$(C_TESTS))

# Every C/C++ test, once under AddressSanitizer+UBSan, once under valgrind,
# and ssecat's own suite; scripts/c-tests.sh prints each tool's summary.
test-c: deps-c $(ASAN_BINS) $(PLAIN_BINS) $(BUILD)/ssecat $(BUILD)/sse-cpp-example $(BUILD)/poll-loop-example $(SERVER)
	@./scripts/c-tests.sh all

test-c-asan: deps-c $(ASAN_BINS) $(SERVER)
	@./scripts/c-tests.sh asan

test-c-valgrind: deps-c $(PLAIN_BINS) $(SERVER)
	@./scripts/c-tests.sh valgrind

test-ssecat: deps-c $(BUILD)/ssecat $(ASAN_DIR)/ssecat $(SERVER)
	@./scripts/c-tests.sh ssecat

# The adversarial suite: tests/hostile/server.py (floods, bombs, broken
# framing, redirects, TLS) against the ASan ssecat, the plain one for peak
# RSS, and the C ABI probe (threads and descriptors back after free).
$(ASAN_DIR)/abi_probe: tests/hostile/abi_probe.c include/sse.h $(LIBDIR)/libsse.so | deps-c
	@mkdir -p $(@D)
	$(ASAN_CC) $(CFLAGS_EXAMPLE) -O1 $(SAN) -o $@ $< $(LINK_SHARED)

$(PLAIN_DIR)/maxrss: tests/hostile/maxrss.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_EXAMPLE) -o $@ $<

test-hostile: deps-c $(BUILD)/ssecat $(ASAN_DIR)/ssecat $(ASAN_DIR)/abi_probe $(PLAIN_DIR)/maxrss
	$(NO_PROXY_ENV) $(PYTHON) tests/hostile/test_hostile.py $(ASAN_DIR)/ssecat \
	    --plain $(BUILD)/ssecat --maxrss $(PLAIN_DIR)/maxrss --abi $(ASAN_DIR)/abi_probe

# ssecat (ASan build) through a real Squid with Debian's default rules:
# http:// streams in absolute form, https:// through CONNECT.
test-proxy: deps-c $(ASAN_DIR)/ssecat $(SERVER)
	@echo "== proxy (tests/proxy/test_squid.py)"
	@python3 tests/proxy/test_squid.py $(ASAN_DIR)/ssecat

# include/sse.h is generated by `cargo build`: it must match the sources
# (regenerated by re-running the build script) and be committed; every
# exported symbol must be declared; the version macros must match
# Cargo.toml and sse_version().
test-header: deps-c
	@./scripts/check-header.sh

# `make install` into a temporary prefix, then a program built with only
# `pkg-config --cflags --libs sse` (shared) and `--static` (libsse.a).
test-install: deps-c
	@./scripts/test-install.sh

# The suites talk to 127.0.0.1 only: no proxy from the environment.
NO_PROXY_ENV := env -u http_proxy -u https_proxy -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u all_proxy

test-python:
	$(NO_PROXY_ENV) bash bindings/python/run-tests.sh

test-go:
	$(NO_PROXY_ENV) bash bindings/go/run-tests.sh

# ----------------------------------------------------------- packaging

# The shared library's SONAME is libsse.so.MAJOR (set by build.rs):
# installed as libsse.so.MAJOR.MINOR.PATCH with the links
# libsse.so -> libsse.so.MAJOR -> libsse.so.MAJOR.MINOR.PATCH.
MAJOR := $(firstword $(subst ., ,$(VERSION)))
SONAME := libsse.so.$(MAJOR)
REALNAME := libsse.so.$(VERSION)
INSTALL_MANDIR ?= $(PREFIX)/share/man
# Fixed below libdir: libsseConfig.cmake finds the rest relative to itself.
INSTALL_CMAKEDIR = $(INSTALL_LIBDIR)/cmake/libsse
# `make install` strips the libraries and ssecat; `make install STRIP=true`
# keeps their symbols.
STRIP ?= strip
PKG := $(BUILD)/pkg
# libsseConfig.cmake's INTERFACE_LINK_LIBRARIES for libsse.a (STATIC_LIBS
# without the -l).
STATIC_LIBS_CMAKE := $(subst $(eval) ,;,$(patsubst -l%,%,$(STATIC_LIBS)))
MAN_PAGES := man/ssecat.1 man/libsse.3

# Generated per install (they hold PREFIX): sse.pc (shared, its
# Libs.private for `--static`), sse-static.pc (libsse.a itself, for
# `pkg-config --libs sse-static`), the CMake package files.
pkg-files:
	@mkdir -p $(PKG)
	sed -e 's|@NAME@|sse|g' -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(INSTALL_LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INSTALL_INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS@|-L$${libdir} -lsse|g' -e 's|@LIBS_PRIVATE@|$(STATIC_LIBS)|g' sse.pc.in >$(PKG)/sse.pc
	sed -e 's|@NAME@|sse-static|g' -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(INSTALL_LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INSTALL_INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS@|$${libdir}/libsse.a $(STATIC_LIBS)|g' -e 's|@LIBS_PRIVATE@||g' sse.pc.in >$(PKG)/sse-static.pc
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SONAME@|$(SONAME)|g' -e 's|@REALNAME@|$(REALNAME)|g' \
	    -e 's|@INCLUDEDIR_FROM_LIBDIR@|$(shell realpath -m --relative-to=$(INSTALL_LIBDIR) $(INSTALL_INCLUDEDIR))|g' \
	    -e 's|@STATIC_LIBS@|$(STATIC_LIBS_CMAKE)|g' cmake/libsseConfig.cmake.in >$(PKG)/libsseConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' cmake/libsseConfigVersion.cmake.in >$(PKG)/libsseConfigVersion.cmake

# Installs what `make` built without running cargo again, so that
# `sudo make install` works where root has no Rust toolchain; builds first
# only when something is missing.
BUILT := $(LIBDIR)/libsse.a $(LIBDIR)/libsse.so $(BUILD)/ssecat include/sse.h
INSTALL_NEEDS := $(if $(filter-out $(wildcard $(BUILT)),$(BUILT)),build)

# The generated files go to a directory of the installing user's own, so
# that a `sudo make install` leaves nothing a later user install cannot
# overwrite.
install: PKG = $(BUILD)/pkg-uid$(shell id -u)
install: $(INSTALL_NEEDS) $(MAN_PAGES)
	@$(MAKE) --no-print-directory -s pkg-files PREFIX=$(PREFIX) PKG=$(PKG) \
	    INSTALL_LIBDIR=$(INSTALL_LIBDIR) INSTALL_INCLUDEDIR=$(INSTALL_INCLUDEDIR)
	install -d $(DESTDIR)$(INSTALL_INCLUDEDIR) $(DESTDIR)$(INSTALL_LIBDIR)/pkgconfig \
	    $(DESTDIR)$(INSTALL_CMAKEDIR) $(DESTDIR)$(INSTALL_BINDIR) \
	    $(DESTDIR)$(INSTALL_MANDIR)/man1 $(DESTDIR)$(INSTALL_MANDIR)/man3
	install -m 644 include/sse.h include/sse.hpp $(DESTDIR)$(INSTALL_INCLUDEDIR)/
	install -m 755 $(LIBDIR)/libsse.so $(DESTDIR)$(INSTALL_LIBDIR)/$(REALNAME)
	$(STRIP) --strip-unneeded $(DESTDIR)$(INSTALL_LIBDIR)/$(REALNAME)
	ln -sfn $(REALNAME) $(DESTDIR)$(INSTALL_LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(INSTALL_LIBDIR)/libsse.so
	install -m 644 $(LIBDIR)/libsse.a $(DESTDIR)$(INSTALL_LIBDIR)/
	$(STRIP) --strip-debug $(DESTDIR)$(INSTALL_LIBDIR)/libsse.a
	install -m 644 $(PKG)/sse.pc $(PKG)/sse-static.pc $(DESTDIR)$(INSTALL_LIBDIR)/pkgconfig/
	install -m 644 $(PKG)/libsseConfig.cmake $(PKG)/libsseConfigVersion.cmake $(DESTDIR)$(INSTALL_CMAKEDIR)/
	install -m 755 $(BUILD)/ssecat $(DESTDIR)$(INSTALL_BINDIR)/
	$(STRIP) $(DESTDIR)$(INSTALL_BINDIR)/ssecat
	install -m 644 man/ssecat.1 $(DESTDIR)$(INSTALL_MANDIR)/man1/
	install -m 644 man/libsse.3 $(DESTDIR)$(INSTALL_MANDIR)/man3/

# The GNU name for the same thing (`make install` already strips).
install-strip: install

uninstall:
	rm -f $(DESTDIR)$(INSTALL_INCLUDEDIR)/sse.h $(DESTDIR)$(INSTALL_INCLUDEDIR)/sse.hpp \
	    $(DESTDIR)$(INSTALL_LIBDIR)/libsse.so $(DESTDIR)$(INSTALL_LIBDIR)/$(SONAME) \
	    $(DESTDIR)$(INSTALL_LIBDIR)/$(REALNAME) $(DESTDIR)$(INSTALL_LIBDIR)/libsse.a \
	    $(DESTDIR)$(INSTALL_LIBDIR)/pkgconfig/sse.pc $(DESTDIR)$(INSTALL_LIBDIR)/pkgconfig/sse-static.pc \
	    $(DESTDIR)$(INSTALL_CMAKEDIR)/libsseConfig.cmake $(DESTDIR)$(INSTALL_CMAKEDIR)/libsseConfigVersion.cmake \
	    $(DESTDIR)$(INSTALL_BINDIR)/ssecat \
	    $(DESTDIR)$(INSTALL_MANDIR)/man1/ssecat.1 $(DESTDIR)$(INSTALL_MANDIR)/man3/libsse.3
	-rmdir $(DESTDIR)$(INSTALL_CMAKEDIR) 2>/dev/null

# The Python wheel, self-contained (libsse.so and the compiled batch
# packer inside), repaired by auditwheel to a manylinux tag, into dist/.
wheel: $(LIBDIR)/libsse.so
	@./scripts/build-wheel.sh dist

# `make wheel`, installed into a bare venv without cargo or cc on the
# PATH, then the client tests against it; `python -m build` from the
# checkout: its sdist builds libsse with cargo, or fails loudly without it;
# a Go module outside the checkout built against `make install`.
test-packaging: $(LIBDIR)/libsse.so $(SERVER)
	@$(NO_PROXY_ENV) ./scripts/test-wheel.sh
	@$(NO_PROXY_ENV) ./scripts/test-sdist.sh
	@$(NO_PROXY_ENV) ./scripts/test-go-install.sh

clean-c:
	rm -rf $(BUILD)
