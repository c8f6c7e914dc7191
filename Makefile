# libsse: `make demo` (the main job), `make test` (every suite), `make bench`.
SHELL := /bin/bash
CARGO ?= cargo

.PHONY: all build test test-rust lint bench stress fuzz deps

all: build

build:
	$(CARGO) build --release

deps:
	@./scripts/ensure-deps.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

test-rust:
	$(CARGO) test --release

test: deps lint test-rust

bench:
	$(CARGO) run --release -p libsse-benches

stress:
	SSE_STRESS=1 $(CARGO) test --release -- --ignored --nocapture

fuzz:
	@./scripts/fuzz.sh
