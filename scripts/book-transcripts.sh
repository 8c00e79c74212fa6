#!/usr/bin/env bash
# The book's terminal output, produced from the current code (issue 18).
#
#   scripts/book-transcripts.sh           regenerate book/src/generated/
#   scripts/book-transcripts.sh --check   regenerate into a scratch directory and
#                                         fail, naming each file, on a difference
#
# Each book/transcripts/NN-chapter.sh is a scenario: it runs the commands its
# chapter shows (against a broker on a free port, in a scratch directory) and
# writes each output, masked of what varies run to run (ports, paths, times,
# ids), to book/src/generated/NN-chapter/NAME.txt, which the page includes.
# A page never pastes terminal output, so an output that changes with the code
# fails `scripts/test.sh` until it is regenerated and reviewed.
#
# It uses the release binaries (spool, spool-models, the write_log example),
# which it builds first; `scripts/test.sh` runs it after its release test
# build and lets it use the binaries that build made.
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
case "${1:-}" in
  --check) check=1 ;;
  "") ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

# The tools the scenarios run besides spool's own (kcat comes with the
# clients, tests/clients/setup.sh): xxd and strace, Debian packages each.
missing=()
for tool in xxd strace; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if ((${#missing[@]})); then
  echo "book-transcripts: installing ${missing[*]} (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

export SPOOL="$PWD/target/release/spool" SPOOL_MODELS="$PWD/target/release/spool-models"
export WRITE_LOG="$PWD/target/release/examples/write_log"
if [[ ${SPOOL_TRANSCRIPTS_PREBUILT:-0} == 1 ]]; then
  # scripts/test.sh sets this after its release test build, which built these
  # three; building them again here would rebuild the crate without the
  # dev-dependencies' features (tokio's test-util), minutes for nothing.
  for bin in "$SPOOL" "$SPOOL_MODELS" "$WRITE_LOG"; do
    [[ -x $bin ]] || { echo "book-transcripts: $bin is missing" >&2; exit 1; }
  done
else
  cargo build --release --quiet --workspace --bins --example write_log
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/spool-transcripts.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
generated=book/src/generated
if ((check)); then out_root="$scratch/generated"; else out_root="$generated"; fi

for scenario in book/transcripts/[0-9]*.sh; do
  chapter=$(basename "$scenario" .sh)
  export OUT="$out_root/$chapter" WORK="$scratch/work-$chapter"
  rm -rf "$OUT"
  mkdir -p "$OUT" "$WORK"
  started=$(date +%s%3N)
  if ! bash -euo pipefail -c 'source book/transcripts/lib.sh; source "$1"' _ "$scenario"; then
    echo "book-transcripts: $scenario failed" >&2
    exit 1
  fi
  echo "book-transcripts: $chapter ($(($(date +%s%3N) - started)) ms)"
done

if ((check)); then
  if ! diff -ruN "$generated" "$out_root" >"$scratch/diff"; then
    cat "$scratch/diff"
    echo >&2
    grep -E '^diff ' "$scratch/diff" | awk '{print "book-transcripts: stale: " $(NF-1)}' >&2
    echo "book-transcripts: the book's transcripts differ from what the code prints now;" \
      "run scripts/book-transcripts.sh to refresh them, read the diff, and fix the prose around them" >&2
    exit 1
  fi
  echo "book-transcripts: every transcript matches the code"
fi
