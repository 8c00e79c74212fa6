# Chapter 11's sessions: one broker with a PLAINTEXT listener for the
# operator's tools (User:ANONYMOUS, a super user) and a SASL_PLAINTEXT one
# offering PLAIN and SCRAM-SHA-512 for the tenants, with the StandardAuthorizer.
# The page shows ports 9092 and 9094 and /tmp/spool-security; the broker here
# listens on free ports in a scratch directory, and `emit` writes the page's
# values back. The quota's ten-second throttle is left to the reader: too slow
# for the book's check.
plain=$(free_port)
sasl=$(free_port)
dir="$WORK/spool-security"
log="$WORK/broker.log"
mask "127\.0\.0\.1:$plain" "127.0.0.1:9092"
mask "127\.0\.0\.1:$sasl" "127.0.0.1:9094"
mask "$dir" "/tmp/spool-security"

cat >"$WORK/spool-security.properties" <<EOF
log.dirs=$dir
listeners=PLAINTEXT://127.0.0.1:$plain,SASL_PLAINTEXT://127.0.0.1:$sasl
sasl.enabled.mechanisms=PLAIN,SCRAM-SHA-512
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="admin-secret" user_alice="alice-secret" user_bob="bob-secret";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:ANONYMOUS
EOF
"$SPOOL" serve "$WORK/spool-security.properties" 2>"$log" &
BROKER_PIDS+=($!)
for _ in $(seq 100); do
  [[ $(grep -c 'listening on' "$log") -ge 2 ]] && break
  sleep 0.1
done

# `shell COMMAND…`: each COMMAND as the page shows it after a `$`, then what
# it printed (stdout and stderr). A command starting with `spool ` runs this
# tree's release binary; the page's ports are swapped for the real ones.
shell() {
  local cmd
  for cmd in "$@"; do
    printf '$ %s\n' "$cmd"
    cmd=${cmd//127.0.0.1:9092/127.0.0.1:$plain}
    cmd=${cmd//127.0.0.1:9094/127.0.0.1:$sasl}
    bash -c "${cmd/#spool /\"\$SPOOL\" }" 2>&1 || true
  done
}
# `session FILE COMMAND…`: the shell session, emitted as FILE.
session() {
  local name=$1
  shift
  shell "$@" | emit "$name"
}
export SPOOL

B="--bootstrap-server 127.0.0.1:9092"
session scram-configs \
  "spool configs $B --entity-type users --entity-name alice --alter --add-config 'SCRAM-SHA-512=[iterations=8192,password=alice-secret]'" \
  "spool configs $B --entity-type users --entity-name alice --describe" \
  "spool configs $B --entity-type users --entity-name alice --alter --delete-config SCRAM-SHA-512" \
  "spool configs $B --entity-type users --entity-name alice --describe"

session acls \
  "spool topics $B --create --topic orders --partitions 1" \
  "spool acls $B --add --allow-principal User:alice --producer --topic orders" \
  "spool acls $B --add --allow-principal User:alice --consumer --topic orders --group g" \
  "spool acls $B --list --topic orders"

# kcat as alice, as bob (no ACL), and with a wrong password. The page's
# commands say `$SASL`, as its text defines it; librdkafka's repeats of one
# failure (how many depends on timing) are cut to the first, and its log
# lines' timestamps and durations masked.
export SASL="-X security.protocol=SASL_PLAINTEXT -X sasl.mechanisms=PLAIN"
mask "after [0-9]+ms" "after <n>ms"
mask "^%([0-9])\|[0-9]+\.[0-9]+\|" "%\1|<time>|"
kcat_session() {
  local name=$1
  shift
  shell "$@" | awk '/^%[0-9]\|[0-9.]+\|FAIL\|/ { if (failed++) next } { print }' | emit "$name"
}
{
  kcat_session kcat-alice \
    "echo 'order 1' | kcat -b 127.0.0.1:9094 \$SASL -X sasl.username=alice -X sasl.password=alice-secret -P -t orders" \
    "kcat -b 127.0.0.1:9094 \$SASL -X sasl.username=alice -X sasl.password=alice-secret -C -t orders -e -q"
  kcat_session kcat-bob \
    "echo 'order 2' | kcat -b 127.0.0.1:9094 \$SASL -X sasl.username=bob -X sasl.password=bob-secret -P -t orders"
  kcat_session kcat-wrong-password \
    "kcat -b 127.0.0.1:9094 \$SASL -X sasl.username=alice -X sasl.password=nope -L -m 1"
}

session quota \
  "spool configs $B --entity-type users --entity-name alice --alter --add-config producer_byte_rate=10240" \
  "spool configs $B --entity-type users --entity-name alice --describe"

stop_brokers
