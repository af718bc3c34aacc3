#!/usr/bin/env bash
# Ferry's Prometheus rules and dashboard against real data: promtool checks
# and unit-tests the rules, then a real Prometheus (Debian's) loads them and
# scrapes two ferryd while msg_gen runs between them, and every expression
# of the dashboard's panels, evaluated through Prometheus's HTTP API,
# returns at least one series. Every rule must evaluate without error.
#
#   rules_test.sh FERRYD MSG_GEN RULES RULES_TEST DASHBOARD
set -euo pipefail
FERRYD=$(realpath "$1")
MSG_GEN=$(realpath "$2")
rules=$(realpath "$3")
rules_test=$(realpath "$4")
dashboard=$(realpath "$5")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
command -v prometheus >/dev/null || fail "prometheus missing (deploy/install-deps.sh)"

promtool check rules "$rules" || fail "promtool check rules"
# The test file names the rules by a path relative to itself.
(cd "$(dirname "$rules_test")" && promtool test rules "$(basename "$rules_test")") ||
  fail "promtool test rules"

dir=${TEST_TMPDIR:-/tmp}
ferryd_pair rules 10.87.0 --memory_mb=512 --metrics_address=127.0.0.1:0
targets=()
for log in "$PAIR_LOG_A" "$PAIR_LOG_B"; do
  wait_for_line "$log" "metrics at http://127.0.0.1:[0-9]+/metrics" 30
  targets+=("\"$(grep -m 1 -o "127.0.0.1:[0-9]*" <(grep "metrics at" "$log"))\"")
done
msg_gen_server "$dir/server.log" "$PAIR_GRPC_B" 7000 --size=1024
start_bg "$dir/client.log" "$MSG_GEN" --role=client --socket="$PAIR_GRPC_A" \
  --remote=10.87.0.2:7000 --size=1024 --window=4 --flows=4 --duration_s=60 \
  --quiet

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
data=$(mktemp -d "$dir/prometheus.XXXXXX")
cat >"$data/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $rules
scrape_configs:
  - job_name: ferryd
    static_configs:
      - targets: [$(IFS=,; echo "${targets[*]}")]
YML
start_bg "$data/prometheus.log" prometheus --config.file="$data/prometheus.yml" \
  --storage.tsdb.path="$data/tsdb" --web.listen-address="127.0.0.1:$port"

# query EXPR: the result's series count and first value, or "error ...".
query() {
  /usr/bin/python3 - "http://127.0.0.1:$port" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
base, expr = sys.argv[1], sys.argv[2]
url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
try:
    answer = json.load(urllib.request.urlopen(url, timeout=10))
except Exception as error:
    print(f"error {error}")
    sys.exit(0)
if answer.get("status") != "success":
    print(f"error {answer.get('error')}")
else:
    result = answer["data"]["result"]
    print(len(result), result[0]["value"][1] if result else "-")
PY
}

# Rates need two scrapes of traffic: wait until both hosts' message rates
# are recorded and above zero.
ready=""
for _ in $(seq 60); do
  ready=$(query 'count(instance:ferry_messages_tx:rate1m > 0)')
  [[ $ready == "1 2" ]] && break
  sleep 1
done
[[ $ready == "1 2" ]] ||
  { tail -5 "$data/prometheus.log"; fail "no message rate for both hosts: $ready"; }

mapfile -t exprs < <(/usr/bin/python3 - "$dashboard" <<'PY'
import json, sys
dashboard = json.load(open(sys.argv[1]))
for panel in dashboard["panels"]:
    for target in panel["targets"]:
        # The dashboard's host selector, at "All".
        print(panel["title"] + "\t" + target["expr"].replace("$instance", ".+"))
PY
)
((${#exprs[@]} >= 8)) || fail "only ${#exprs[@]} dashboard expressions"
for line in "${exprs[@]}"; do
  title=${line%%$'\t'*}
  expr=${line#*$'\t'}
  answer=$(query "$expr")
  [[ $answer =~ ^[1-9][0-9]*\  ]] ||
    fail "dashboard panel '$title': '$expr' returned: $answer"
  echo "ok: $title: $expr -> ${answer%% *} series"
done

# Every rule loaded and evaluated cleanly; no alert fires on a healthy pair.
/usr/bin/python3 - "http://127.0.0.1:$port" <<'PY' || fail "rules unhealthy"
import json, sys, urllib.request
rules = json.load(urllib.request.urlopen(sys.argv[1] + "/api/v1/rules", timeout=10))
all_rules = [r for g in rules["data"]["groups"] for r in g["rules"]]
bad = [(r["name"], r.get("lastError")) for r in all_rules if r["health"] != "ok"]
firing = [r["name"] for r in all_rules
          if r["type"] == "alerting" and r["state"] == "firing"]
print(f"{len(all_rules)} rules, unhealthy: {bad}, firing: {firing}")
sys.exit(1 if bad or firing or len(all_rules) < 13 else 0)
PY
echo "PASS: rules and dashboard evaluate on real ferryd metrics"
