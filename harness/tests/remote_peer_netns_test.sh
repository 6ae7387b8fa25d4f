#!/usr/bin/env bash
# remote_peer_netns: pipebench with its follower on "another host", on one machine. Two network
# namespaces made here (pb-<pid>-a, pb-<pid>-b) joined by a veth pair with a private /30
# (10.213.0.1 and .2) that exists inside them only; pipebench-peer runs in b, pipebench in a with
# --remote-peer. Checks: tcp and zmq_tcp, throughput and latency, 64 B and 1 MiB, every row
# verified and the context carrying both hosts' facts; a corrupted message found by the remote
# follower (and the peer serving the next run); a stopped peer failing its run within the stall
# timeout. Then, with netem delaying each direction by 2 ms, the latency rows' rtt_p50 must be
# at least 4 ms: proof that the bytes took the veth path (a correctness check, not a speed one).
# The namespaces and the peer are removed on every exit. Skips (77) without root, ip, network
# namespaces or veth; skips the netem half alone, with the reason, where sch_netem is missing.
# Environment: PIPEBENCH, PIPEBENCH_PEER (the binaries).
set -euo pipefail

: "${PIPEBENCH:?set PIPEBENCH to the pipebench binary}"
: "${PIPEBENCH_PEER:?set PIPEBENCH_PEER to the pipebench-peer binary}"

skip() {
  echo "SKIP: $*"
  exit 77
}
fail() {
  echo "FAIL: $*" >&2
  [ -s "${work:-/nonexistent}/peer.err" ] && sed 's/^/  peer: /' "$work/peer.err" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || skip "not root: network namespaces and a veth pair need root"
command -v ip >/dev/null || skip "no 'ip' (Debian package iproute2; ./scripts/setup installs it)"
command -v python3 >/dev/null || skip "no python3 to read the results"

ns_a="pb-$$-a"
ns_b="pb-$$-b"
veth_a="pb$$a"  # interface names are at most 15 characters
veth_b="pb$$b"
addr_a=10.213.0.1
addr_b=10.213.0.2
work="$(mktemp -d)"
peer_pid=""

cleanup() {
  set +e
  # Every process in b is this test's (the namespace is), the peer's children included.
  for pid in $peer_pid $(ip netns pids "$ns_b" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  [ -n "$peer_pid" ] && wait "$peer_pid" 2>/dev/null
  ip netns del "$ns_a" 2>/dev/null  # takes the veth pair with it
  ip netns del "$ns_b" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$ns_a" 2>"$work/err" || skip "cannot create a network namespace: $(cat "$work/err")"
ip netns add "$ns_b" 2>"$work/err" || skip "cannot create a network namespace: $(cat "$work/err")"
# Made inside the namespaces: nothing is ever added to this host's own network.
ip link add "$veth_a" netns "$ns_a" type veth peer name "$veth_b" netns "$ns_b" 2>"$work/err" ||
  skip "cannot create a veth pair: $(cat "$work/err")"
ip -n "$ns_a" addr add "$addr_a/30" dev "$veth_a"
ip -n "$ns_b" addr add "$addr_b/30" dev "$veth_b"
for end in "$ns_a $veth_a" "$ns_b $veth_b"; do
  set -- $end
  ip -n "$1" link set lo up
  ip -n "$1" link set "$2" up
done

start_peer() {
  ip netns exec "$ns_b" "$PIPEBENCH_PEER" --listen="$addr_b:0" >"$work/peer.out" 2>>"$work/peer.err" &
  peer_pid=$!
  for _ in $(seq 100); do
    port="$(sed -n 's/.*listening on [0-9.]*:\([0-9]*\).*/\1/p' "$work/peer.out")"
    [ -n "$port" ] && return 0
    kill -0 "$peer_pid" 2>/dev/null || fail "pipebench-peer exited at start"
    sleep 0.1
  done
  fail "pipebench-peer did not start listening"
}

# pipebench in a, against the peer in b; extra arguments pass through. Writes $work/$1.json.
pipebench() {
  local out="$work/$1.json"
  shift
  ip netns exec "$ns_a" "$PIPEBENCH" --remote-peer="$addr_b:$port" --stall-timeout=10 \
    --benchmark_out="$out" --benchmark_out_format=json "$@" >"$work/pipebench.log" 2>&1 ||
    { cat "$work/pipebench.log" >&2; fail "pipebench exited with status $?"; }
}

# Checks a run's JSON: python3 check.py FILE MODE [ARG]
cat >"$work/check.py" <<'PY'
import json, sys
path, mode = sys.argv[1], sys.argv[2]
doc = json.load(open(path))
rows, ctx = doc["benchmarks"], doc["context"]
def die(msg):
    sys.exit(f"{path}: {msg}")
if mode == "all_verified":
    want = int(sys.argv[3])
    if len(rows) != want:
        die(f"{len(rows)} rows, expected {want}: {[r['name'] for r in rows]}")
    for r in rows:
        if r.get("error_occurred") or r.get("verified") != 1:
            die(f"{r['name']}: {r.get('error_message', 'not verified')}")
        if "follower: pipebench-peer at " not in r.get("label", ""):
            die(f"{r['name']}: the label does not say the follower was remote")
    if not ctx.get("remote_peer", "").startswith("10.213.0.2:"):
        die(f"context remote_peer = {ctx.get('remote_peer')!r}")
    # Both hosts' facts: each of this host's facts, and the peer's under peer_<fact>.
    for fact in ("host_kernel", "host_cpu_model", "host_cores", "host_pipe_max_size", "compiler"):
        if fact not in ctx or "peer_" + fact not in ctx:
            die(f"the context lacks {fact} or peer_{fact}")
    if "peer_host_name" not in ctx:
        die("the context lacks peer_host_name")
    print(f"{path}: {len(rows)} rows verified, both hosts' facts present")
elif mode == "one_corrupted":
    errors = [r for r in rows if r.get("error_occurred")]
    good = [r for r in rows if not r.get("error_occurred") and r.get("verified") == 1]
    if len(errors) != 1 or "checksum mismatch" not in errors[0]["error_message"] or len(good) != 1:
        die(f"expected one corrupted and one verified repetition: {rows}")
    print(f"{path}: the remote follower caught it: {errors[0]['error_message']}")
elif mode == "stalled":
    errors = [r.get("error_message", "") for r in rows if r.get("error_occurred")]
    if not errors or not any("stalled" in e or "closed" in e for e in errors):
        die(f"expected a stalled run: {rows}")
    print(f"{path}: {errors[0]}")
elif mode == "rtt_at_least":
    floor_ns = float(sys.argv[3])
    lat = [r for r in rows if r["name"].startswith("latency/")]
    if not lat:
        die("no latency rows")
    for r in lat:
        if r.get("error_occurred") or r.get("verified") != 1:
            die(f"{r['name']}: {r.get('error_message', 'not verified')}")
        if r["rtt_p50_ns"] < floor_ns:
            die(f"{r['name']}: rtt_p50 {r['rtt_p50_ns'] / 1e6:.3f} ms < {floor_ns / 1e6} ms")
        print(f"{r['name']}: rtt_p50 {r['rtt_p50_ns'] / 1e6:.3f} ms")
PY
check() { python3 "$work/check.py" "$@" || fail "check $2 of $1"; }

start_peer
echo "pipebench-peer in $ns_b at $addr_b:$port; pipebench in $ns_a at $addr_a"

pipebench plain --transports=tcp,zmq_tcp --workloads=throughput,latency --sizes=64,1M \
  --benchmark_min_time=0.05
check "$work/plain.json" all_verified 8

# The remote follower checks every byte: the first repetition's middle message is corrupted.
pipebench corrupted --transports=tcp --workloads=throughput --sizes=64 --benchmark_min_time=0.05 \
  --benchmark_repetitions=2 --inject-corruption=1 --benchmark_enable_random_interleaving=false
check "$work/corrupted.json" one_corrupted

# A peer that stops (SIGSTOP: no FIN, no RST, as a hung host) fails the run within the stall
# timeout, not never.
(sleep 1.5 && kill -STOP $(ip netns pids "$ns_b")) &
stopper=$!
started=$SECONDS
ip netns exec "$ns_a" "$PIPEBENCH" --remote-peer="$addr_b:$port" --stall-timeout=2 \
  --transports=tcp --workloads=throughput --sizes=64 --benchmark_min_time=3 \
  --benchmark_out="$work/stalled.json" --benchmark_out_format=json >"$work/pipebench.log" 2>&1 ||
  fail "pipebench exited with status $? on a stalled peer"
wait "$stopper"
took=$((SECONDS - started))
check "$work/stalled.json" stalled
[ "$took" -le 20 ] || fail "a stalled peer took ${took} s to fail the run"
kill -CONT $(ip netns pids "$ns_b") 2>/dev/null || true
# Its session ends once it runs again and finds the controller gone; then it serves the next.

# netem: 2 ms each way, so that a round trip takes at least 4 ms.
netem_ok=1
for end in "$ns_a $veth_a" "$ns_b $veth_b"; do
  set -- $end
  if ! ip netns exec "$1" tc qdisc add dev "$2" root netem delay 2ms 2>"$work/tc.err"; then
    command -v modprobe >/dev/null && modprobe sch_netem 2>>"$work/tc.err" &&
      ip netns exec "$1" tc qdisc add dev "$2" root netem delay 2ms 2>>"$work/tc.err" && continue
    netem_ok=0
    break
  fi
done
if [ "$netem_ok" -eq 0 ]; then
  echo "SKIPPED the netem half: sch_netem is not available on this kernel" \
    "($(uname -r)): $(tr '\n' ' ' <"$work/tc.err")"
else
  pipebench netem --transports=tcp,zmq_tcp --workloads=latency --sizes=64,1M \
    --benchmark_min_time=0.05
  check "$work/netem.json" rtt_at_least 4e6
fi
echo "PASS"
