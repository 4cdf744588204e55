# Sourced by scripts/bench-dispatch and scripts/bench-campaign: PolicyPush beside
# `curl --parallel` against the nginx stand-in of ../shared/bench, in alternating pairs, and the
# median ratio of the pairs. Each of our runs must end with a line
#   result: messages=N msgs_per_s=X cpu_us_per_msg=Y ...
# Every request that reaches nginx is counted (its /nginx_status), so a pair whose messages did not
# all arrive shows it in the table.

# Commands run at exit, whatever the exit: `exit_actions+=("command")`.
exit_actions=()
run_exit_actions() { for action in "${exit_actions[@]}"; do eval "$action" || true; done; }
trap run_exit_actions EXIT

pairs_dir=$(mktemp -d /tmp/policypush-pairs.XXXXXX)
exit_actions+=("rm -rf '$pairs_dir'")
pairs_rows=$pairs_dir/rows

# Starts the nginx stand-in (stopped at exit); one already answering is used and left running.
pairs_start_gateway() {
  if curl -sf -o /dev/null http://127.0.0.1:18080/nginx_status; then
    pairs_url=http://127.0.0.1:18080/sms/send
    echo "nginx stand-in already running: using it and leaving it running"
  else
    pairs_url=$(../shared/bench/nginx-gateway.sh start)
    exit_actions+=("../shared/bench/nginx-gateway.sh stop >/dev/null")
  fi
  pairs_status=${pairs_url%/sms/send}/nginx_status
}

# Requests nginx has answered so far (the status request itself included).
pairs_requests() { curl -sf "$pairs_status" | awk 'NR == 3 { print $3 }'; }

pairs_header() {
  echo "pairs, alternating: ours = $1; curl = $2; same nginx stand-in $pairs_url"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# pairs_ours I COMMAND...: runs our benchmark, shows its output, keeps its result line's figures
# and sets pairs_messages to its message count.
pairs_ours() {
  local i=$1 before after line
  shift
  before=$(pairs_requests)
  "$@" | tee "$pairs_dir/ours.$i"
  after=$(pairs_requests)
  line=$(grep '^result: ' "$pairs_dir/ours.$i" | tail -1)
  [ -n "$line" ] || { echo "pair $i: no 'result:' line from $1" >&2; exit 1; }
  pairs_messages=$(sed -E 's/.* messages=([0-9]+).*/\1/' <<<"$line")
  printf '%s %s %s %s' "$i" "$pairs_messages" \
    "$(sed -E 's/.* msgs_per_s=([0-9.]+).*/\1/' <<<"$line")" \
    "$(sed -E 's/.* cpu_us_per_msg=([0-9.]+).*/\1/' <<<"$line")" >>"$pairs_rows"
  printf ' %s' $((after - before - 1)) >>"$pairs_rows"
}

# pairs_curl I N MAX: curl --parallel posting N messages over MAX connections.
pairs_curl() {
  local i=$1 n=$2 max=$3 before after line
  before=$(pairs_requests)
  line=$(../shared/bench/curl-parallel.sh "$pairs_url" "$n" "$max")
  after=$(pairs_requests)
  echo "$line"
  printf ' %s %s %s\n' \
    "$(sed -E 's/.*= ([0-9,]+) msgs\/s.*/\1/' <<<"$line" | tr -d ,)" \
    "$(sed -E 's/.*CPU ([0-9.]+) us\/msg.*/\1/' <<<"$line")" \
    $((after - before - 1)) >>"$pairs_rows"
}

# The table of pairs and the median ratios with their range. $1 names what "messages/s" is.
pairs_summary() {
  echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
  python3 - "$pairs_rows" "${1:-messages/s}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
what = sys.argv[2]
print(f"\n{'pair':>4} {'messages':>9} {'ours msgs/s':>12} {'curl msgs/s':>12} {'ratio':>6} "
      f"{'ours us/msg':>12} {'curl us/msg':>12} {'ratio':>6}  arrived ours/curl")
rates, cpus = [], []
for i, n, rate, cpu, arrived, crate, ccpu, carrived in rows:
    r, c = float(rate) / float(crate), float(cpu) / float(ccpu)
    rates.append(r); cpus.append(c)
    print(f"{i:>4} {int(n):>9,} {float(rate):>12,.0f} {float(crate):>12,.0f} {r:>5.2f}x "
          f"{float(cpu):>12.1f} {float(ccpu):>12.1f} {c:>5.2f}x  {int(arrived):,}/{int(carrived):,}")
print(f"\n{what}, ours / curl: median ratio {statistics.median(rates):.2f}× ({min(rates):.2f}–{max(rates):.2f}), {len(rows)} pairs")
print(f"CPU µs/message, ours / curl: median ratio {statistics.median(cpus):.2f}× ({min(cpus):.2f}–{max(cpus):.2f}) "
      "(below 1: ours spends less CPU per message; curl's includes reading its config)")
missing = [r[0] for r in rows if int(r[4]) < int(r[1]) or int(r[7]) < int(r[1])]
if missing:
    print(f"warning: pairs {', '.join(missing)}: fewer requests reached nginx than messages")
PY
}
