#!/usr/bin/env bash
# The Kubernetes manifests validate against the API schema (Debian's
# python3-kubernetes) and agree with the Debian package (programs, version,
# flag file, socket, group); the ConfigMap's ferryd.conf passes ferryd's own
# check. Then broken copies must fail: the check is not a rubber stamp. No
# cluster runs here: nothing is applied.
#
#   manifests_test.sh VALIDATOR FERRY_DEB VERSION_FILE FERRYD FERRYCTL MANIFESTS...
set -euo pipefail
validator=$(realpath "$1")
deb=$(realpath "$2")
version=$(tr -d '[:space:]' <"$3")
ferryd=$(realpath "$4")
ferryctl=$(realpath "$5")
shift 5
manifests=("$@")
t=$(mktemp -d "${TEST_TMPDIR:-/tmp}/manifests.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
dpkg-deb -c "$deb" | awk '{print substr($6, 2)}' >"$t/files"

validate() {  # validate MANIFESTS...: output in $out, status in $rc
  rc=0
  out=$(/usr/bin/python3 "$validator" --package-files="$t/files" \
    --version="$version" --config-out="$t/ferryd.conf" "$@" 2>&1) || rc=$?
}

validate "${manifests[@]}"
((rc == 0)) || fail "the manifests do not validate: $out"
echo "$out"
FERRYD=$ferryd "$ferryctl" config check "$t/ferryd.conf" ||
  fail "the ConfigMap's ferryd.conf does not pass ferryd --check_config"

# broken NAME SED_EXPRESSION EXPECTED: a copy with one change must fail.
broken() {
  local file=$1 expression=$2 want=$3 copies=() m
  for m in "${manifests[@]}"; do
    if [[ $(basename "$m") == "$file" ]]; then
      sed -e "$expression" "$m" >"$t/$file"
      cmp -s "$m" "$t/$file" && fail "'$expression' changed nothing in $file"
      copies+=("$t/$file")
    else
      copies+=("$m")
    fi
  done
  validate "${copies[@]}"
  ((rc != 0)) || fail "$file with '$expression' validated"
  [[ $out == *"$want"* ]] || fail "$file with '$expression': $out"
  echo "ok: refused $file with '$expression'"
}
broken ferryd.yaml 's/hostNetwork: true/hostNetwrok: true/' \
  "hostNetwrok: no such field in V1PodSpec"
broken ferryd.yaml 's/initialDelaySeconds: 2$/initialDelaySeconds: soon/' \
  "expected int"
broken ferryd.yaml '0,/- name: ferryd$/s//- image: x/' "must not be \`None\`"
broken ferryd.yaml 's|"/usr/bin/ferryctl", "--socket|"/usr/bin/ferryadm", "--socket|' \
  "/usr/bin/ferryadm is not in the package"
broken ferryd.yaml "s|localhost/ferry:$version|localhost/ferry:0.0.1|" \
  "is not version $version"
broken ferryd.yaml '0,/hugepages-2Mi: 2Gi/s//hugepages-2Mi: 1Gi/' \
  "hugepages-2Mi request must equal its limit"
broken ferryd-config.yaml 's|--grpc_socket=/run/ferry/ferryd.sock|--grpc_socket=/run/ferryd/ferryd.sock|' \
  "does not ask /run/ferryd/ferryd.sock"
broken example-app.yaml 's/supplementalGroups: \[2100\]/supplementalGroups: [2101]/' \
  "not in the sockets' group 2100"
echo "PASS: manifests valid and consistent with the package"
