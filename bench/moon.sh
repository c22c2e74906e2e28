# Sourced by the bench scripts: builds the release binary and starts it on 127.0.0.1:$port
# with its data in a temporary $work (or on $url when set), waits for /health, and stops it
# and removes $work on exit. Sets $bin, $work and $pid.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/moon-target}"
cargo build --release -p moon --quiet
bin="$CARGO_TARGET_DIR/release/moon"
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT
args=(--listen "127.0.0.1:$port" --data-dir "$work" --log warn)
[ -n "${url:-}" ] && args+=(--database-url "$url")
"$bin" "${args[@]}" &
pid=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
