#!/usr/bin/env bash
# Builds the book and fails on a broken include, which mdbook itself does not:
# mdbook 0.5.4 logs a missing file as an ERROR and still exits 0, and renders a
# missing anchor as an empty code block without a word. This script fails on
#   1. an {{#include FILE:ANCHOR}} whose file is missing, or whose anchor is
#      missing, unterminated, or holds no code;
#   2. any ERROR or WARN line in the build output;
#   3. an empty code block anywhere in the rendered HTML;
#   4. a Rust block that `mdbook test` would skip without reason: every included
#      block is crate code (a fragment that compiles only inside the crate, and
#      that `cargo build` already compiles), so it is marked `rust,ignore`; any
#      other Rust block is a standalone example that `mdbook test` must compile
#      and run, so `ignore` on it, or an include without it, is refused;
#   5. `mdbook test` itself (runs whatever standalone Rust blocks there are);
#   6. the built book in a real browser (book/tools/check-browser.mjs, headless
#      chromium): pages load without console errors, every diagram draws, no
#      broken link, anchor or image, search finds "high watermark".
# Needs scripts/book-setup.sh first (chromium, and mermaid + playwright-core in
# book/node_modules); scripts/test.sh runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

MDBOOK=${MDBOOK:-mdbook}
failed=0
fail() {
  echo "check-book: $*" >&2
  failed=1
}

# 1. Every include in the sources resolves to non-empty code.
while IFS=: read -r page _line directive; do
  spec=${directive#*include }
  spec=${spec%\}\}}
  spec=${spec%% *}
  file=${spec%%:*}
  anchor=""
  [[ $spec == *:* ]] && anchor=${spec#*:}
  path="$(dirname "$page")/$file"
  if [[ ! -f $path ]]; then
    fail "$page: $directive: no file $path"
    continue
  fi
  # A line range (":10", ":10:20", "::20") is not an anchor; only the file is checked.
  if [[ -z $anchor || $anchor =~ ^[0-9:]*$ ]]; then
    continue
  fi
  starts=$(grep -cE "ANCHOR:[[:space:]]*${anchor}([^A-Za-z0-9_-]|$)" "$path" || true)
  ends=$(grep -cE "ANCHOR_END:[[:space:]]*${anchor}([^A-Za-z0-9_-]|$)" "$path" || true)
  if [[ $starts -eq 0 ]]; then
    fail "$page: $directive: no 'ANCHOR: $anchor' in $path"
    continue
  fi
  if [[ $ends -eq 0 ]]; then
    fail "$page: $directive: 'ANCHOR: $anchor' in $path has no ANCHOR_END"
    continue
  fi
  body=$(awk -v a="$anchor" '
    $0 ~ ("ANCHOR_END:[[:space:]]*" a "([^A-Za-z0-9_-]|$)") { inside = 0 }
    inside && $0 !~ /ANCHOR(_END)?:/ && $0 ~ /[^[:space:]]/ { n++ }
    $0 ~ ("ANCHOR:[[:space:]]*" a "([^A-Za-z0-9_-]|$)") { inside = 1 }
    END { print n + 0 }' "$path")
  if [[ $body -eq 0 ]]; then
    fail "$page: $directive: anchor '$anchor' in $path holds no code"
  fi
done < <(grep -rnoE '\{\{#(include|rustdoc_include) [^}]+\}\}' book/src --include='*.md')

# The pictures' renderer: copied from the pinned npm package, never committed.
if [[ ! -f book/node_modules/mermaid/dist/mermaid.min.js ]]; then
  echo "check-book: no book/node_modules/mermaid: run scripts/book-setup.sh" >&2
  exit 1
fi
mkdir -p book/src/js
cp book/node_modules/mermaid/dist/mermaid.min.js book/src/js/mermaid.min.js
# Chapter 4's plot, drawn from the numbers kept in benches/ (never committed as an image).
python3 scripts/plot-batching.py --quiet

# 2. The build itself, with every ERROR or WARN treated as a failure.
if ! out=$("$MDBOOK" build book 2>&1); then
  echo "$out" >&2
  fail "mdbook build failed"
else
  echo "$out"
  if grep -qE '(^|[[:space:]])(ERROR|WARN)([[:space:]]|$)' <<<"$out"; then
    fail "mdbook build logged errors or warnings (above)"
  fi
fi

# 3. No empty code block in what was rendered (a last guard for includes).
if [[ -d book/book ]]; then
  empty=$(grep -lE '<code class="[^"]*"></code>' book/book/*.html || true)
  if [[ -n $empty ]]; then
    fail "empty code block in: $empty"
  fi
fi

# 4. Rust blocks: `rust,ignore` exactly when the block is an include.
rust_blocks=$(awk '
  FNR == 1 { fence = "" }
  /^[[:space:]]*```/ {
    if (fence == "") { fence = $0; at = FNR; body = ""; next }
    if (fence ~ /^[[:space:]]*```rust/) {
      included = body ~ /\{\{#(rustdoc_)?include /
      ignored = fence ~ /,ignore(,|$)/
      if (included && !ignored) print FILENAME ":" at ": an included Rust block must be rust,ignore"
      if (!included && ignored) print FILENAME ":" at ": a standalone Rust block must not be ignored"
    }
    fence = ""; next
  }
  fence != "" { body = body $0 "\n" }' book/src/*.md book/src/reference/*.md)
if [[ -n $rust_blocks ]]; then
  fail "$rust_blocks"
fi

# 5. mdbook test: compiles and runs every Rust block not marked ignore.
if ! out=$("$MDBOOK" test book 2>&1); then
  echo "$out" >&2
  fail "mdbook test failed"
fi

# 6. The built book in headless chromium.
if [[ -d book/book ]] && ! node book/tools/check-browser.mjs book; then
  fail "the browser check found problems (above)"
fi

if [[ $failed -ne 0 ]]; then
  exit 1
fi
echo "check-book: every include resolves, no warnings, mdbook test passes, the browser finds no problem"
