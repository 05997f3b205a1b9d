#!/usr/bin/env bash
# Local engines for MYBROKER_INFRA=real, all on 127.0.0.1 at their default ports:
#
#   RabbitMQ 5672   apt rabbitmq-server, run as a plain background process (no systemd)
#   MariaDB  3306   apt mariadb-server, mariadbd in the background; user mybroker/mybroker
#   Postgres 5432   apt postgresql, pg_ctl as the postgres user; role + db mybroker_b3sim
#   Redis    6379   apt redis-server, daemonized with a config bound to 127.0.0.1
#   Kafka    9092   Apache Kafka jars from Maven Central (resolved by mvn, cached), KRaft
#                   single node (broker+controller, controller on 9093), on Java 17
#   MongoDB  27017  SecantusDB (MongoDB wire protocol, from PyPI) in its own venv
#                   (why not FerretDB: see docs/design.md, "Local services")
#
# Usage: scripts/services.sh up|down|status [ENGINE...]    (default: all engines)
#
#   up      installs whatever is missing (apt, Maven, pip), starts every engine that is
#           not running yet, waits until each one answers and prints what it started.
#           Idempotent: a second `up` only checks, in a few seconds.
#   down    stops every engine this script started.
#   status  prints each engine up/down; exits non-zero if any is down.
#
# Everything lives under ${MYBROKER_SERVICES_DIR:-$HOME/.cache/mybroker-services}:
#   kafka/libs, secantus-venv    downloaded once (the cache)
#   state/<engine>/              data directories, configs and pid files
#   state/logs/<engine>.log      logs
set -euo pipefail

HOST=127.0.0.1
RABBITMQ_PORT=5672
MARIADB_PORT=3306
POSTGRES_PORT=5432
REDIS_PORT=6379
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
MONGO_PORT=27017

KAFKA_VERSION=${MYBROKER_KAFKA_VERSION:-3.9.1}
SLF4J_VERSION=1.7.36            # the slf4j line Kafka 3.9 is built against
SECANTUS_VERSION=${MYBROKER_SECANTUS_VERSION:-0.7.0b3}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROBE="$ROOT/scripts/services_probe.py"
CACHE=${MYBROKER_SERVICES_DIR:-$HOME/.cache/mybroker-services}
STATE=$CACHE/state
LOGS=$STATE/logs
ENGINES=(rabbitmq mariadb postgres redis kafka mongodb)

# The five broker databases on MariaDB (b3-sim's journal is on PostgreSQL).
MYSQL_DATABASES=(mybroker_identity mybroker_wallet mybroker_assets mybroker_orders mybroker_reports)

# ---------------------------------------------------------------------------- helpers

log() { printf '%s\n' "$*"; }
die() { printf 'services.sh: %s\n' "$*" >&2; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }

# Run a command as a system user when we are root, as ourselves otherwise.
as_user() {
    local user=$1; shift
    if is_root; then runuser -u "$user" -- "$@"; else "$@"; fi
}

pid_alive() { [ -f "$1" ] && kill -0 "$(head -n1 "$1")" 2>/dev/null; }

# spawn PIDFILE LOGFILE CMD...: start CMD in its own session, detached from this shell,
# and write its exact pid (the wrapper execs into CMD) to PIDFILE.
spawn() {
    local pidfile=$1 logfile=$2; shift 2
    rm -f "$pidfile"
    # shellcheck disable=SC2016  # $$ and $@ belong to the inner bash
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" >>"$logfile" 2>&1 </dev/null &
    local i
    for i in $(seq 50); do [ -s "$pidfile" ] && return 0; sleep 0.1; done
    die "could not start $*"
}

# stop_pid NAME PIDFILE [SECONDS]: SIGTERM, wait, then SIGKILL.
stop_pid() {
    local name=$1 pidfile=$2 secs=${3:-30} pid i
    if ! pid_alive "$pidfile"; then rm -f "$pidfile"; return 0; fi
    pid=$(head -n1 "$pidfile")
    # spawn() made the process a session (and group) leader: signal the whole group, so
    # that children (e.g. RabbitMQ's Erlang VM under its shell script) go too.
    local target=$pid
    [ "$(ps -o pgid= -p "$pid" | tr -d ' ')" = "$pid" ] && target=-$pid
    kill -TERM -- "$target" 2>/dev/null || true
    for i in $(seq $((secs * 10))); do
        kill -0 -- "$target" 2>/dev/null || { rm -f "$pidfile"; return 0; }
        sleep 0.1
    done
    log "  $name did not stop in ${secs}s; killing it"
    kill -KILL -- "$target" 2>/dev/null || true
    rm -f "$pidfile"
}

# wait_until NAME SECONDS CMD...: retry CMD until it succeeds, or fail showing the log.
wait_until() {
    local name=$1 secs=$2 i; shift 2
    for i in $(seq $((secs * 4))); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.25
    done
    log "  $name did not answer within ${secs}s; last lines of $LOGS/$name.log:" >&2
    tail -n 30 "$LOGS/$name.log" >&2 2>/dev/null || true
    return 1
}

# The system users of postgres and mariadb must reach their data dirs under the state
# dir, which may sit in a private home (/root): grant them traversal (x, not read) on
# every parent directory.
make_traversable() {
    is_root || return 0
    local dir=$1
    while [ "$dir" != / ]; do
        [ -n "$(find "$dir" -maxdepth 0 -perm -o+x)" ] || chmod o+x "$dir"
        dir=$(dirname "$dir")
    done
}

# ---------------------------------------------------------------------------- install

# The bin dir of the newest installed PostgreSQL major version (empty if none).
pg_bin() { find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n1; }

# Debian packages for every command we need (chromium: the browser tests of web/, which
# never download a browser), installed in one apt-get run if any is missing. A temporary
# policy-rc.d keeps the packages' post-install scripts from starting their system-wide
# daemons, which would take the ports we want.
install_packages() {
    local missing=() cmd pkg
    for pair in rabbitmq-server:rabbitmq-server mariadbd:mariadb-server \
                mariadb-install-db:mariadb-server redis-server:redis-server \
                redis-cli:redis-tools java:openjdk-17-jre-headless mvn:maven \
                docker-compose:docker-compose python3:python3 runuser:util-linux \
                flock:util-linux ps:procps chromium:chromium; do
        cmd=${pair%%:*} pkg=${pair#*:}
        PATH=$PATH:/usr/sbin:/usr/lib/rabbitmq/bin command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ -n "$(pg_bin)" ] || missing+=(postgresql)
    python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
    [ ${#missing[@]} -eq 0 ] && return 0
    is_root || die "missing packages (${missing[*]}); run as root or install them"
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    log "Installing Debian packages: ${missing[*]}"
    local policy=/usr/sbin/policy-rc.d own_policy=
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && own_policy=1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
        >"$LOGS/apt.log" 2>&1 9>&- || { tail -n 30 "$LOGS/apt.log" >&2; [ -z "$own_policy" ] || rm -f "$policy"; die "apt-get install failed"; }
    [ -z "$own_policy" ] || rm -f "$policy"
}

# Kafka's jars: kafka_2.13 (broker), kafka-tools and an slf4j binding, with all their
# runtime dependencies, resolved by Maven from Maven Central into kafka/libs. A stamp
# file records the version; a version change re-resolves.
install_kafka() {
    local dir=$CACHE/kafka stamp="kafka_2.13:$KAFKA_VERSION slf4j-reload4j:$SLF4J_VERSION"
    if [ -f "$dir/libs/.stamp" ] && [ "$(cat "$dir/libs/.stamp")" = "$stamp" ]; then return 0; fi
    log "Resolving Apache Kafka $KAFKA_VERSION from Maven Central (once)..."
    mkdir -p "$dir"
    cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.mybroker</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-tools</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$SLF4J_VERSION</version></dependency>
  </dependencies>
</project>
EOF
    rm -rf "$dir/libs.tmp"
    (cd "$dir" && mvn -q -B dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory=libs.tmp) >"$LOGS/maven.log" 2>&1 \
        || { tail -n 30 "$LOGS/maven.log" >&2; die "Maven could not resolve Kafka"; }
    echo "$stamp" >"$dir/libs.tmp/.stamp"
    rm -rf "$dir/libs" && mv "$dir/libs.tmp" "$dir/libs"
}

# SecantusDB (only pre-releases exist on PyPI) in a venv of its own under the cache.
install_secantus() {
    local venv=$CACHE/secantus-venv
    if [ -x "$venv/bin/secantusd-py" ] && [ -f "$venv/.stamp" ] \
        && [ "$(cat "$venv/.stamp")" = "$SECANTUS_VERSION" ]; then return 0; fi
    log "Installing SecantusDB $SECANTUS_VERSION from PyPI (once)..."
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check --pre "secantusdb==$SECANTUS_VERSION" \
        >"$LOGS/pip-secantus.log" 2>&1 || { tail -n 30 "$LOGS/pip-secantus.log" >&2; die "pip install secantusdb failed"; }
    echo "$SECANTUS_VERSION" >"$venv/.stamp"
}

# ---------------------------------------------------------------------------- probes
# Each probe succeeds only when the engine answers its own protocol.

probe_rabbitmq() { python3 "$PROBE" amqp "$HOST" "$RABBITMQ_PORT"; }
probe_mariadb()  { mariadb-admin --no-defaults --protocol=tcp -h "$HOST" -P "$MARIADB_PORT" -u ping --connect-timeout=2 ping; }
probe_postgres() { "$(pg_bin)/pg_isready" -q -h "$HOST" -p "$POSTGRES_PORT" -t 2; }
probe_redis()    { [ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
probe_kafka()    { python3 "$PROBE" kafka "$HOST" "$KAFKA_PORT"; }
probe_mongodb()  { python3 "$PROBE" mongo "$HOST" "$MONGO_PORT"; }

port_of() {
    case $1 in
        rabbitmq) echo $RABBITMQ_PORT ;; mariadb) echo $MARIADB_PORT ;;
        postgres) echo $POSTGRES_PORT ;; redis) echo $REDIS_PORT ;;
        kafka) echo $KAFKA_PORT ;; mongodb) echo $MONGO_PORT ;;
    esac
}

# ---------------------------------------------------------------------------- RabbitMQ
# Run as the invoking user (the Debian wrapper in /usr/sbin would su to rabbitmq), with
# node name, data, logs, cookie (HOME) and plugins file all under the state dir.

rabbitmq_env() {
    export HOME=$STATE/rabbitmq \
        RABBITMQ_NODENAME=rabbit@localhost \
        RABBITMQ_NODE_IP_ADDRESS=$HOST \
        RABBITMQ_NODE_PORT=$RABBITMQ_PORT \
        RABBITMQ_DIST_PORT=25672 \
        ERL_EPMD_ADDRESS=$HOST \
        RABBITMQ_MNESIA_BASE=$STATE/rabbitmq/mnesia \
        RABBITMQ_LOG_BASE=$STATE/rabbitmq/log \
        RABBITMQ_PID_FILE=$STATE/rabbitmq/rabbitmq.pid \
        RABBITMQ_ENABLED_PLUGINS_FILE=$STATE/rabbitmq/enabled_plugins \
        RABBITMQ_CONFIG_FILE=$STATE/rabbitmq/rabbitmq \
        RABBITMQ_ADVANCED_CONFIG_FILE=$STATE/rabbitmq/advanced.config
}

start_rabbitmq() {
    mkdir -p "$STATE/rabbitmq/mnesia" "$STATE/rabbitmq/log"
    [ -f "$STATE/rabbitmq/enabled_plugins" ] || echo '[].' >"$STATE/rabbitmq/enabled_plugins"
    # guest/guest works from localhost only (RabbitMQ's default), which is what we want.
    printf 'listeners.tcp.default = %s:%s\nloopback_users.guest = true\n' "$HOST" "$RABBITMQ_PORT" \
        >"$STATE/rabbitmq/rabbitmq.conf"
    (rabbitmq_env && spawn "$STATE/rabbitmq/server.pid" "$LOGS/rabbitmq.log" \
        /usr/lib/rabbitmq/bin/rabbitmq-server)
}

stop_rabbitmq() {
    pid_alive "$STATE/rabbitmq/server.pid" || return 0
    (rabbitmq_env && /usr/lib/rabbitmq/bin/rabbitmqctl -q stop >>"$LOGS/rabbitmq.log" 2>&1) || true
    stop_pid rabbitmq "$STATE/rabbitmq/server.pid" 30
    # epmd (Erlang's port mapper) outlives the node; stop ours too.
    (rabbitmq_env && epmd -kill >/dev/null 2>&1) || true
}

# ---------------------------------------------------------------------------- MariaDB

MARIADB_SOCKET() { echo "$STATE/mariadb/mysqld.sock"; }

start_mariadb() {
    local dir=$STATE/mariadb user=mysql
    is_root || user=$(id -un)
    mkdir -p "$dir/data"
    make_traversable "$dir"
    if is_root; then chown -R mysql:mysql "$dir"; fi
    if [ ! -d "$dir/data/mysql" ]; then
        mariadb-install-db --no-defaults --datadir="$dir/data" --user="$user" \
            --auth-root-authentication-method=socket --skip-test-db >>"$LOGS/mariadb.log" 2>&1 \
            || { tail -n 30 "$LOGS/mariadb.log" >&2; die "mariadb-install-db failed"; }
    fi
    spawn "$dir/server.pid" "$LOGS/mariadb.log" mariadbd --no-defaults \
        --user="$user" --datadir="$dir/data" --bind-address="$HOST" --port="$MARIADB_PORT" \
        --socket="$(MARIADB_SOCKET)" --pid-file="$dir/mariadbd.pid" --log-error="$LOGS/mariadb.log" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --innodb-buffer-pool-size=128M
}

# Users and databases; idempotent, so it runs on every `up`. As root we connect through
# the socket as MariaDB's root (unix_socket auth), otherwise as our own user, whom
# mariadb-install-db made an administrator.
bootstrap_mariadb() {
    local admin=root sql db
    is_root || admin=$(id -un)
    sql="CREATE USER IF NOT EXISTS 'mybroker'@'127.0.0.1' IDENTIFIED BY 'mybroker';
CREATE USER IF NOT EXISTS 'mybroker'@'localhost' IDENTIFIED BY 'mybroker';
GRANT ALL PRIVILEGES ON \`mybroker\\_%\`.* TO 'mybroker'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`mybroker\\_%\`.* TO 'mybroker'@'localhost';"
    for db in "${MYSQL_DATABASES[@]}"; do
        sql+=$'\n'"CREATE DATABASE IF NOT EXISTS $db CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
    done
    mariadb --no-defaults --socket="$(MARIADB_SOCKET)" -u "$admin" -e "$sql"
}

stop_mariadb() { stop_pid mariadb "$STATE/mariadb/server.pid" 60; }

# ---------------------------------------------------------------------------- PostgreSQL
# initdb/pg_ctl from the newest installed major version, as the postgres user (peer
# auth over our own socket dir; scram passwords over TCP).

start_postgres() {
    local dir=$STATE/postgres bin user=postgres
    bin=$(pg_bin)
    is_root || user=$(id -un)
    mkdir -p "$dir/run"
    make_traversable "$dir"
    if is_root; then chown -R postgres:postgres "$dir"; fi
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        as_user "$user" "$bin/initdb" -D "$dir/data" -U "$user" -E UTF8 --locale=C.UTF-8 \
            --auth-local=peer --auth-host=scram-sha-256 >>"$LOGS/postgres.log" 2>&1 \
            || { tail -n 30 "$LOGS/postgres.log" >&2; die "initdb failed"; }
    fi
    touch "$LOGS/postgres.log"
    if is_root; then chown postgres "$LOGS/postgres.log"; fi
    as_user "$user" "$bin/pg_ctl" -D "$dir/data" -l "$LOGS/postgres.log" -W start \
        -o "-c listen_addresses=$HOST -c port=$POSTGRES_PORT -c unix_socket_directories=$dir/run" \
        >/dev/null
}

bootstrap_postgres() {
    local user=postgres
    is_root || user=$(id -un)
    local psql=("$(pg_bin)/psql" -X -q -v ON_ERROR_STOP=1 -h "$STATE/postgres/run" -p "$POSTGRES_PORT" -U "$user" -d postgres)
    as_user "$user" "${psql[@]}" >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'mybroker') THEN
    CREATE ROLE mybroker LOGIN CREATEDB PASSWORD 'mybroker';
  END IF;
END $$;
SELECT 'CREATE DATABASE mybroker_b3sim OWNER mybroker'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'mybroker_b3sim') \gexec
SQL
}

stop_postgres() {
    local user=postgres
    is_root || user=$(id -un)
    [ -f "$STATE/postgres/data/postmaster.pid" ] || return 0
    as_user "$user" "$(pg_bin)/pg_ctl" -D "$STATE/postgres/data" -m fast -w stop >/dev/null 2>&1 || true
}

postgres_running() {
    [ -f "$STATE/postgres/data/postmaster.pid" ] \
        && kill -0 "$(head -n1 "$STATE/postgres/data/postmaster.pid")" 2>/dev/null
}

# ---------------------------------------------------------------------------- Redis

start_redis() {
    local dir=$STATE/redis
    mkdir -p "$dir"
    cat >"$dir/redis.conf" <<EOF
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
dir $dir
pidfile $dir/redis.pid
logfile $LOGS/redis.log
save 60 1000
appendonly no
EOF
    redis-server "$dir/redis.conf"
}

stop_redis() {
    pid_alive "$STATE/redis/redis.pid" || return 0
    redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || true
    stop_pid redis "$STATE/redis/redis.pid" 15
}

# ---------------------------------------------------------------------------- Kafka

start_kafka() {
    local dir=$STATE/kafka libs=$CACHE/kafka/libs
    mkdir -p "$dir/data"
    cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
default.replication.factor=1
min.insync.replicas=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
    cat >"$dir/log4j.properties" <<EOF
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=INFO
EOF
    # Format the storage once, with a fresh cluster id (a base64url UUID).
    if [ ! -f "$dir/data/meta.properties" ]; then
        local cluster_id
        cluster_id=$(python3 -c 'import base64, uuid; print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')
        java -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$libs/*" kafka.tools.StorageTool \
            format -t "$cluster_id" -c "$dir/server.properties" >>"$LOGS/kafka.log" 2>&1 \
            || { tail -n 30 "$LOGS/kafka.log" >&2; die "kafka storage format failed"; }
    fi
    spawn "$dir/kafka.pid" "$LOGS/kafka.log" java -Xms256m -Xmx512m -XX:+UseG1GC \
        -Djava.awt.headless=true -Dlog4j.configuration="file:$dir/log4j.properties" \
        -cp "$libs/*" kafka.Kafka "$dir/server.properties"
}

stop_kafka() { stop_pid kafka "$STATE/kafka/kafka.pid" 60; }

# ---------------------------------------------------------------------------- MongoDB (SecantusDB)

start_mongodb() {
    local dir=$STATE/mongodb
    mkdir -p "$dir/data"
    # An explicit (empty) config file turns off secantusd's config auto-discovery.
    : >"$dir/secantusd.toml"
    (cd "$dir" && spawn "$dir/secantusd.pid" "$LOGS/mongodb.log" "$CACHE/secantus-venv/bin/secantusd-py" \
        --config "$dir/secantusd.toml" --host "$HOST" --port "$MONGO_PORT" --storage-path "$dir/data")
}

stop_mongodb() { stop_pid mongodb "$STATE/mongodb/secantusd.pid" 30; }

# What the platform needs: insert, sorted find, unique (ticker, time), upsert.
# secantusdb depends on pymongo, so its venv has it.
smoke_mongodb() {
    "$CACHE/secantus-venv/bin/python" "$PROBE" mongo-smoke "mongodb://$HOST:$MONGO_PORT"
}

# ---------------------------------------------------------------------------- commands

# Is the engine already running under this script's control?
ours() {
    case $1 in
        rabbitmq) pid_alive "$STATE/rabbitmq/server.pid" ;;
        mariadb)  pid_alive "$STATE/mariadb/server.pid" ;;
        postgres) postgres_running ;;
        redis)    pid_alive "$STATE/redis/redis.pid" ;;
        kafka)    pid_alive "$STATE/kafka/kafka.pid" ;;
        mongodb)  pid_alive "$STATE/mongodb/secantusd.pid" ;;
    esac
}

# How long each engine may take to answer after it is started (first start included).
timeout_of() {
    case $1 in rabbitmq) echo 90 ;; mariadb) echo 60 ;; kafka) echo 90 ;; *) echo 45 ;; esac
}

cmd_up() {
    local t0=$SECONDS engine started=() failed=()
    mkdir -p "$LOGS"
    export PATH=$PATH:/usr/sbin:/usr/lib/rabbitmq/bin

    # 1. Install what is missing (each step is a no-op when already done).
    install_packages
    install_secantus 9>&- &   # pip and Maven download at the same time
    local pip_job=$!
    install_kafka
    wait "$pip_job" || die "SecantusDB install failed (see $LOGS/pip-secantus.log)"

    # 2. Start every engine that does not answer yet, all at once...
    for engine in "${ENGINES[@]}"; do
        if "probe_$engine" >/dev/null 2>&1; then continue; fi
        if ours "$engine"; then started+=("$engine"); continue; fi  # still starting
        if port_in_use "$(port_of "$engine")"; then
            log "  $engine: port $(port_of "$engine") is taken by a process this script did not start"
            failed+=("$engine"); continue
        fi
        "start_$engine" 9>&-   # the daemon must not inherit (and hold) our lock
        started+=("$engine")
    done

    # 3. ...then wait for each one, and set up users and databases.
    for engine in "${started[@]}"; do
        wait_until "$engine" "$(timeout_of "$engine")" "probe_$engine" || failed+=("$engine")
    done
    if probe_mariadb >/dev/null 2>&1 && ours mariadb; then
        bootstrap_mariadb || failed+=(mariadb-users)
    fi
    if probe_postgres >/dev/null 2>&1 && ours postgres; then
        bootstrap_postgres || failed+=(postgres-users)
    fi
    if [[ " ${started[*]} " == *" mongodb "* ]] && probe_mongodb >/dev/null 2>&1; then
        smoke_mongodb || failed+=(mongodb-smoke)
    fi

    # 4. Report.
    log ""
    if [ ${#started[@]} -gt 0 ]; then
        log "Started: ${started[*]} (in $((SECONDS - t0))s)"
    else
        log "Everything was already running (checked in $((SECONDS - t0))s)"
    fi
    print_table || true   # a down engine is reported just below
    log "State and logs: $STATE"
    if [ ${#failed[@]} -gt 0 ]; then die "failed: ${failed[*]} (see $LOGS)"; fi
}

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

print_table() {
    local engine state rc=0
    for engine in "${ENGINES[@]}"; do
        if "probe_$engine" >/dev/null 2>&1; then state=up; else state=down; rc=1; fi
        printf '  %-9s %-5s %s\n' "$engine" "$state" "$(describe "$engine")"
    done
    return $rc
}

describe() {
    case $1 in
        rabbitmq) echo "amqp://guest:guest@$HOST:$RABBITMQ_PORT/" ;;
        mariadb)  echo "mysql://mybroker:mybroker@$HOST:$MARIADB_PORT (databases mybroker_*)" ;;
        postgres) echo "postgresql://mybroker:mybroker@$HOST:$POSTGRES_PORT/mybroker_b3sim" ;;
        redis)    echo "redis://$HOST:$REDIS_PORT/0" ;;
        kafka)    echo "$HOST:$KAFKA_PORT (KRaft, Kafka $KAFKA_VERSION)" ;;
        mongodb)  echo "mongodb://$HOST:$MONGO_PORT (SecantusDB $SECANTUS_VERSION)" ;;
    esac
}

cmd_down() {
    local engine
    export PATH=$PATH:/usr/sbin:/usr/lib/rabbitmq/bin
    # Reverse order; each stop is a no-op for an engine that is not running.
    for ((i = ${#ENGINES[@]} - 1; i >= 0; i--)); do
        engine=${ENGINES[i]}
        if ours "$engine"; then
            "stop_$engine"
            log "  stopped $engine"
        elif "probe_$engine" >/dev/null 2>&1; then
            log "  $engine answers on port $(port_of "$engine") but was not started by this script; left alone"
        fi
    done
}

cmd_status() {
    export PATH=$PATH:/usr/sbin:/usr/lib/rabbitmq/bin
    print_table
}

# One `up` or `down` at a time (two CI jobs or terminals on one machine would race).
lock() {
    mkdir -p "$CACHE"
    exec 9>"$CACHE/.lock"
    flock -w 600 9 || die "another services.sh is still running"
}

usage() { echo "usage: $0 up|down|status [ENGINE...]   (engines: ${ENGINES[*]})" >&2; exit 2; }

command=${1:-}
shift || true
# Optional engine names narrow the command to those engines.
if [ $# -gt 0 ]; then
    for engine in "$@"; do [[ " ${ENGINES[*]} " == *" $engine "* ]] || usage; done
    ENGINES=("$@")
fi

case $command in
    up) lock; cmd_up ;;
    down) lock; cmd_down ;;
    status) cmd_status ;;
    *) usage ;;
esac
