# libsse: `make demo` (the main job), `make test` (every suite), `make bench`.
#
#   make                 the libraries (target/release/libsse.{so,a}), include/sse.h, build/ssecat
#   make demo            the bundled server + build/ssecat, a few seconds of live events
#   make test            every suite; installs what it needs when missing
#   make install PREFIX=/usr/local [DESTDIR=]   headers, libraries, sse.pc, ssecat
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

.PHONY: all build cargo-build test test-rust lint bench stress fuzz deps deps-c \
	demo test-c test-c-asan test-c-valgrind test-ssecat test-header test-install \
	test-python test-go install uninstall clean-c

all: build

build: $(BUILD)/ssecat

# Cargo decides what is stale; the libraries' timestamps then tell make.
cargo-build:
	$(CARGO) build --release

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

test-rust:
	$(CARGO) test --release

# Every suite. The C ones after the Rust ones: they share the build.
test: deps lint test-rust test-c test-header test-install test-python test-go

bench:
	benches/run-all.sh

stress:
	SSE_STRESS=1 $(CARGO) test --release -- --ignored --nocapture

fuzz:
	@./scripts/fuzz.sh

# ------------------------------------------------------------------ demo

demo: $(BUILD)/ssecat $(SERVER)
	@./scripts/demo.sh $(BUILD)/ssecat $(SERVER)

# --------------------------------------------------------------- C tests

C_TESTS := test_vectors test_client test_abi test_cpp
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

# The C++ example.
$(BUILD)/sse-cpp-example: examples/cpp/events.cpp include/sse.hpp include/sse.h $(LIBDIR)/libsse.so
	@mkdir -p $(@D)
	$(CXX) -std=c++17 -O2 -g $(CWARN) -Iinclude -o $@ $< $(LINK_SHARED)

ASAN_BINS := $(addprefix $(ASAN_DIR)/,$(C_TESTS) ssecat)
PLAIN_BINS := $(addprefix $(PLAIN_DIR)/,$(C_TESTS))

# Every C/C++ test, once under AddressSanitizer+UBSan, once under valgrind,
# and ssecat's own suite; scripts/c-tests.sh prints each tool's summary.
test-c: deps-c $(ASAN_BINS) $(PLAIN_BINS) $(BUILD)/ssecat $(BUILD)/sse-cpp-example $(SERVER)
	@./scripts/c-tests.sh all

test-c-asan: deps-c $(ASAN_BINS) $(SERVER)
	@./scripts/c-tests.sh asan

test-c-valgrind: deps-c $(PLAIN_BINS) $(SERVER)
	@./scripts/c-tests.sh valgrind

test-ssecat: deps-c $(BUILD)/ssecat $(ASAN_DIR)/ssecat $(SERVER)
	@./scripts/c-tests.sh ssecat

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

$(BUILD)/sse.pc: sse.pc.in Cargo.toml
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(INSTALL_LIBDIR)|g' \
	    -e 's|@INCLUDEDIR@|$(INSTALL_INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@LIBS_PRIVATE@|$(STATIC_LIBS)|g' $< >$@

# sse.pc depends on PREFIX: always regenerate it for install.
install: $(LIBDIR)/libsse.a $(LIBDIR)/libsse.so $(BUILD)/ssecat
	@rm -f $(BUILD)/sse.pc && $(MAKE) --no-print-directory $(BUILD)/sse.pc PREFIX=$(PREFIX) \
	    INSTALL_LIBDIR=$(INSTALL_LIBDIR) INSTALL_INCLUDEDIR=$(INSTALL_INCLUDEDIR)
	install -d $(DESTDIR)$(INSTALL_INCLUDEDIR) $(DESTDIR)$(INSTALL_LIBDIR)/pkgconfig $(DESTDIR)$(INSTALL_BINDIR)
	install -m 644 include/sse.h include/sse.hpp $(DESTDIR)$(INSTALL_INCLUDEDIR)/
	install -m 755 $(LIBDIR)/libsse.so $(DESTDIR)$(INSTALL_LIBDIR)/
	install -m 644 $(LIBDIR)/libsse.a $(DESTDIR)$(INSTALL_LIBDIR)/
	install -m 644 $(BUILD)/sse.pc $(DESTDIR)$(INSTALL_LIBDIR)/pkgconfig/
	install -m 755 $(BUILD)/ssecat $(DESTDIR)$(INSTALL_BINDIR)/

uninstall:
	rm -f $(DESTDIR)$(INSTALL_INCLUDEDIR)/sse.h $(DESTDIR)$(INSTALL_INCLUDEDIR)/sse.hpp \
	    $(DESTDIR)$(INSTALL_LIBDIR)/libsse.so $(DESTDIR)$(INSTALL_LIBDIR)/libsse.a \
	    $(DESTDIR)$(INSTALL_LIBDIR)/pkgconfig/sse.pc $(DESTDIR)$(INSTALL_BINDIR)/ssecat

clean-c:
	rm -rf $(BUILD)
