#!/usr/bin/env bash
# Makes a throwaway certificate authority for bench agents and the
# orchestrator (mutual TLS), for testbeds and first trials; a fleet uses
# its own CA and the same flags.
#
#   bench/agent/make_test_ca.sh DIR NAME=ADDRESS...
#
# DIR/ca.pem                 the CA (--tls_ca of the orchestrator,
#                            --tls_client_ca of the agents)
# DIR/agent-NAME.{pem,key}   one agent's server certificate, valid for
#                            ADDRESS (an IPv4 address or a DNS name) and NAME
# DIR/orchestrator.{pem,key} the orchestrator's client certificate
# Keys are EC P-256, readable by their owner only; certificates last 30
# days. An existing CA in DIR is kept, so agents can be added later.
set -euo pipefail
if (($# < 2)); then
  sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
dir=$1
shift
mkdir -p "$dir"
umask 077
cd "$dir"

newkey() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

if [[ ! -f ca.pem || ! -f ca.key ]]; then
  newkey ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 30 -subj "/CN=Ferry bench test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
fi

# sign NAME SUBJECT_ALT_NAMES EXTENDED_KEY_USAGE: NAME.key and NAME.pem.
sign() {
  local name=$1 san=$2 usage=$3 ext
  newkey "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=$name" -out "$name.csr"
  ext=$(mktemp)
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature"
    echo "extendedKeyUsage=$usage"
    [[ -n $san ]] && echo "subjectAltName=$san"
  } >"$ext"
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
    -days 30 -sha256 -extfile "$ext" -out "$name.pem" 2>/dev/null
  rm -f "$name.csr" "$ext"
}

for spec in "$@"; do
  name=${spec%%=*}
  address=${spec#*=}
  [[ $name =~ ^[A-Za-z0-9_.-]+$ && -n $address && $spec == *=* ]] ||
    { echo "make_test_ca: '$spec' is not NAME=ADDRESS" >&2; exit 2; }
  if [[ $address =~ ^[0-9]+(\.[0-9]+){3}$ ]]; then
    san="IP:$address,DNS:$name"
  else
    san="DNS:$address,DNS:$name"
  fi
  sign "agent-$name" "$san" serverAuth
done
sign orchestrator "" clientAuth
chmod 644 ./*.pem
echo "test CA in $dir: ca.pem, orchestrator.{pem,key}, agent-{$(
  printf '%s\n' "$@" | sed 's/=.*//' | paste -sd,)}.{pem,key}"
