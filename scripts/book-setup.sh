#!/usr/bin/env bash
# Installs what the book's build and its browser check need, on a fresh Debian
# machine, as root (scripts/test.sh's tools step runs it):
#
#   chromium          Debian's package; book/tools/check-browser.mjs drives it
#                     headless to open every page of the built book
#   book/node_modules mermaid (the pictures) and playwright-core (the driver,
#                     without a browser of its own), pinned in book/package.json
#                     + package-lock.json and installed with `npm ci`
#
# Idempotent and quick when both are there: chromium is skipped when present, and
# `npm ci` runs only when the pin files change (a stamp holds their hash).
set -euo pipefail
cd "$(dirname "$0")/../book"

if ! command -v chromium >/dev/null 2>&1; then
  echo "book-setup: installing chromium (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

stamp=node_modules/.spool-lock-hash
want="$(sha256sum package.json package-lock.json | sha256sum | cut -c1-64)"
if [[ ! -d node_modules/mermaid || ! -d node_modules/playwright-core ||
  "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
  echo "book-setup: installing mermaid and playwright-core (npm ci)"
  # No install scripts: neither package needs one, and playwright-core's would
  # not download a browser anyway; the check uses Debian's chromium.
  npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
  echo "$want" >"$stamp"
fi

echo "book-setup: $(chromium --version 2>/dev/null | head -1)," \
  "mermaid $(node -p 'require("./node_modules/mermaid/package.json").version')," \
  "playwright-core $(node -p 'require("./node_modules/playwright-core/package.json").version')"
