#!/usr/bin/env bash
# A throwaway PostgreSQL server on 127.0.0.1 for tests: `scripts/pg.sh start` prints the environment
# to export (LAKEHOUSE_PG_URL / _USER / _PASSWORD_FILE); `scripts/pg.sh stop` removes it.
set -euo pipefail
PORT="${LAKEHOUSE_PG_PORT:-54329}"
DIR="${LAKEHOUSE_PG_DIR:-/tmp/lakehouse-pg-$PORT}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
RUN_AS=()
[ "$(id -u)" = "0" ] && RUN_AS=(runuser -u postgres --)

case "${1:-}" in
  start)
    if [ -z "$BIN" ]; then
      if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "pg.sh: installing PostgreSQL from Debian packages" >&2
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) >&2
        BIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
      else
        echo "pg.sh: PostgreSQL server binaries not found (install the 'postgresql' package)" >&2; exit 1
      fi
    fi
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
      rm -rf "$DIR"; mkdir -p "$DIR"
      [ "$(id -u)" = "0" ] && chown postgres "$DIR"
      "${RUN_AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    fi
    if ! "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1; then
      "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1" start >/dev/null
    fi
    PW_FILE="$DIR/lakehouse.password"
    if [ ! -f "$PW_FILE" ]; then
      umask 077; head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' > "$PW_FILE"
    fi
    PW="$(cat "$PW_FILE")"
    "${RUN_AS[@]}" "$BIN/psql" -q -h "$DIR" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 >/dev/null <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'lakehouse') THEN
    CREATE ROLE lakehouse LOGIN PASSWORD '$PW';
  ELSE
    ALTER ROLE lakehouse PASSWORD '$PW';
  END IF;
END \$\$;
SELECT 'CREATE DATABASE lakehouse OWNER lakehouse' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'lakehouse')\gexec
SQL
    echo "export LAKEHOUSE_PG_URL=jdbc:postgresql://127.0.0.1:$PORT/lakehouse"
    echo "export LAKEHOUSE_PG_USER=lakehouse"
    echo "export LAKEHOUSE_PG_PASSWORD_FILE=$PW_FILE"
    ;;
  stop)
    [ -n "$BIN" ] && [ -d "$DIR/data" ] && "${RUN_AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$DIR"
    ;;
  *) echo "usage: scripts/pg.sh start|stop" >&2; exit 2 ;;
esac
