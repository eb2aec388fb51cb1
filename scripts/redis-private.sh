# Sourced: start and stop a private, memory-only redis-server on a free
# loopback port.  Sets REDIS_PRIVATE_PORT and REDIS_PRIVATE_PID.
redis_private_start() {
  local port dir
  REDIS_PRIVATE_DIR=$(mktemp -d)
  for _ in $(seq 1 50); do
    port=$(( (RANDOM % 20000) + 30000 ))
    # A port nobody listens on; redis-server refuses a taken one anyway.
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$REDIS_PRIVATE_DIR" --daemonize yes --pidfile "$REDIS_PRIVATE_DIR/redis.pid" \
        --logfile "$REDIS_PRIVATE_DIR/redis.log" >/dev/null 2>&1 || continue
      for _ in $(seq 1 100); do
        if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
          REDIS_PRIVATE_PORT=$port
          REDIS_PRIVATE_PID=$(cat "$REDIS_PRIVATE_DIR/redis.pid")
          export REDIS_PRIVATE_PORT REDIS_PRIVATE_PID
          return 0
        fi
        sleep 0.05
      done
    fi
  done
  echo "could not start a private redis-server" >&2
  return 1
}

redis_private_stop() {
  if [ -n "${REDIS_PRIVATE_PID:-}" ]; then
    kill "$REDIS_PRIVATE_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$REDIS_PRIVATE_PID" 2>/dev/null || break; sleep 0.05; done
  fi
  [ -n "${REDIS_PRIVATE_DIR:-}" ] && rm -rf "$REDIS_PRIVATE_DIR"
  REDIS_PRIVATE_PID=
}
