# libsse: `make demo` (the main job), `make test` (every suite), `make bench`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all build test test-rust lint bench stress fuzz deps

all: build

build:
	$(CARGO) build --release --workspace

deps:
	@./scripts/ensure-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test-rust:
	$(CARGO) test --workspace --release

test: deps lint test-rust

bench:
	$(CARGO) bench -p libsse-benches

stress:
	SSE_STRESS=1 $(CARGO) test --release --workspace -- --ignored --nocapture

fuzz:
	@./scripts/fuzz.sh
