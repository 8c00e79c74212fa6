#!/usr/bin/env bash
# Installs the real Kafka clients that judge spool's broker (tests/clients/run.sh,
# tests/it/wire_clients.rs), on a fresh Debian machine, as root:
#
#   kcat             Debian's package (librdkafka 2.0.2 built in)
#   .venv-clients/   confluent-kafka, kafka-python, aiokafka and the codec libraries
#                    they import (pinned in requirements.txt)
#   node_modules/    kafkajs and the snappy, lz4 and zstd codecs kafkajs_scenario.js
#                    registers (pinned in package.json + package-lock.json; no install
#                    scripts, no native build: lz4-napi's binary is itself an npm package)
#
# Idempotent and quick when everything is already there: each step is skipped while
# the pin file it installs from is unchanged (a stamp holds the pin file's hash).
set -euo pipefail
cd "$(dirname "$0")"
clients_dir="$(pwd)"
repo_dir="$(cd ../.. && pwd)"
venv_dir="$repo_dir/.venv-clients"

hash_of() { sha256sum "$@" | sha256sum | cut -c1-64; }

# kcat: Debian's package. `apt-get update` only when it is missing, since a fresh
# machine's package lists may be empty or stale.
if ! command -v kcat >/dev/null 2>&1; then
  echo "setup: installing kcat (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kcat >/dev/null
fi

# Python clients: one venv, reinstalled only when requirements.txt changes.
python_stamp="$venv_dir/.spool-requirements-hash"
python_want="$(hash_of requirements.txt)"
python_imports='import confluent_kafka, kafka, aiokafka, cramjam, snappy, lz4.frame, zstandard'
if [[ ! -x "$venv_dir/bin/python" || "$(cat "$python_stamp" 2>/dev/null)" != "$python_want" ]] ||
  ! "$venv_dir/bin/python" -c "$python_imports" 2>/dev/null; then
  echo "setup: installing Python clients into $venv_dir"
  python3 -m venv --clear "$venv_dir"
  "$venv_dir/bin/pip" install --quiet --disable-pip-version-check -r requirements.txt
  echo "$python_want" >"$python_stamp"
fi

# kafkajs: `npm ci` from the lockfile, again only when the pins change.
node_stamp="$clients_dir/node_modules/.spool-lock-hash"
node_want="$(hash_of package.json package-lock.json)"
if [[ ! -d node_modules/kafkajs || "$(cat "$node_stamp" 2>/dev/null)" != "$node_want" ]]; then
  echo "setup: installing kafkajs and its codecs (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  echo "$node_want" >"$node_stamp"
fi

echo "setup: clients ready: kcat ($(kcat -V 2>&1 | grep -o 'librdkafka [0-9.]*' | head -1))," \
  "$("$venv_dir/bin/python" -c 'import confluent_kafka as c, kafka, aiokafka
print(f"confluent-kafka {c.__version__} (librdkafka {c.libversion()[0]}), kafka-python {kafka.__version__}, aiokafka {aiokafka.__version__}")')," \
  "kafkajs $(node -p 'require("./node_modules/kafkajs/package.json").version')"
