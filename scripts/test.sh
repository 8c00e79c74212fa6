#!/usr/bin/env bash
# The whole test suite: the README's test command, and what CI runs.
# On a fresh machine it installs what it needs first (mdbook, the Kafka clients,
# chromium and the book's npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's header carries the clock and the seconds since the start, so a
# CI log shows where the time goes.
step() { printf '\n== %s == (%s, %d s in)\n' "$*" "$(date -u +%T)" "$SECONDS"; }

step "tools"
if ! command -v mdbook >/dev/null 2>&1; then
  cargo install mdbook --locked --version 0.5.4
fi
# The real Kafka clients that judge the broker: kcat (apt), confluent-kafka,
# kafka-python, aiokafka (a venv), kafkajs (npm). Quick when already installed.
./tests/clients/setup.sh
# The book's pictures (mermaid) and its browser check (chromium, playwright-core).
./scripts/book-setup.sh

step "format, lints, docs, module imports"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet
# Imports between top-level modules run one way: no cycle (issue 12).
python3 scripts/check-imports.py

step "loom (RUSTFLAGS=--cfg spool_loom, its own target dir)"
RUSTFLAGS="--cfg spool_loom" CARGO_TARGET_DIR=target/loom \
  cargo test --release --test loom --quiet

step "benches, smoke-run once each"
# Every bench in benches/ (one cargo invocation builds them side by side), each
# run once with criterion's --test: it runs, its setup and checks hold.
cargo bench --bench '*' -- --test

step "book"
./scripts/check-book.sh

step "unit, integration, property and model tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --release --no-fail-fast
else
  cargo test --workspace --release --no-fail-fast
fi

step "book transcripts (every output the book shows, from the code as it is now)"
# After the release test build above, whose binaries it runs: regenerates each
# transcript into a scratch directory and fails, naming the file, on a difference.
SPOOL_TRANSCRIPTS_PREBUILT=1 ./scripts/book-transcripts.sh --check

step "done"
