#!/usr/bin/env bash
# kcat's balanced consumer (-G, librdkafka 2.0.2 as Debian ships it: older JoinGroup,
# SyncGroup and OffsetCommit versions than confluent-kafka's) against spool's group
# coordinator (chapter 5). Run by tests/it/group_clients.rs, which starts the broker.
#
# Produces 90 records into a new 3-partition topic, reads them in a group to the end of
# every partition (-e), each once; then a second run of the same group reads nothing:
# kcat committed its positions when it closed, and the group resumes there.
#
#   group_kcat.sh --bootstrap HOST:PORT --topic T --group G
set -euo pipefail

while (($#)); do
  case "$1" in
    --bootstrap) bootstrap="${2:?}" && shift ;;
    --topic) topic="${2:?}" && shift ;;
    --group) group="${2:?}" && shift ;;
    *) echo "FAIL: unknown argument $1" >&2 && exit 2 ;;
  esac
  shift
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
started=$SECONDS

# The broker auto-creates the topic (num.partitions=3 from the test's config).
seq 1 90 | sed 's/.*/key-&:record-&/' | timeout 30 kcat -b "$bootstrap" -t "$topic" -P -K:
echo "[kcat group $((SECONDS - started))s] produced 90 records" >&2

timeout 30 kcat -b "$bootstrap" -G "$group" "$topic" -e -q -o beginning -f '%p %o %s\n' >"$work/first"
read -r lines distinct < <(echo "$(wc -l <"$work/first") $(cut -d' ' -f1,2 "$work/first" | sort -u | wc -l)")
if ((lines != 90 || distinct != 90)); then
  echo "FAIL: the group read $lines records ($distinct distinct), produced 90" >&2
  exit 1
fi
echo "[kcat group $((SECONDS - started))s] the group read all 90 once: $(cut -d' ' -f1 "$work/first" | sort | uniq -c | tr -s ' ' | tr '\n' ';')" >&2

timeout 30 kcat -b "$bootstrap" -G "$group" "$topic" -e -q -f '%p %o %s\n' >"$work/second"
if [[ -s "$work/second" ]]; then
  echo "FAIL: the same group read $(wc -l <"$work/second") records again after its commits" >&2
  exit 1
fi
echo "[kcat group $((SECONDS - started))s] a second run of the group resumed at the end: nothing re-read" >&2
