#!/usr/bin/env bash
# ferryd's TCP listener speaks TLS only: plaintext clients and clients with
# a certificate from the wrong CA are refused, a correct client is served.
# A client certificate named in --grpc_tls_admin_names is an administrator;
# another one from the same CA is an application (admin calls refused).
# Certificates are made here with openssl.
set -euo pipefail
FERRYD=$(realpath "$1")
FERRYCTL=$(realpath "$2")
source deploy/testbed/ferryd_test_lib.sh
trap testbed_cleanup EXIT
command -v openssl >/dev/null || fail "openssl missing (deploy/install-deps.sh)"

pki=$(mktemp -d)
cd_pki() { (cd "$pki" && "$@") >/dev/null 2>&1; }
# ca: the CA ferryd trusts for clients and whose server cert ferryctl checks;
# evil: a CA nobody trusts.
for ca in ca evil; do
  cd_pki openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$ca" \
    -keyout $ca.key -out $ca.pem
done
cd_pki openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
  -keyout server.key -out server.csr
printf 'subjectAltName=IP:127.0.0.1\n' >"$pki/san.ext"
cd_pki openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key \
  -CAcreateserial -days 1 -extfile san.ext -out server.pem
for client in good:ca ops:ca bad:evil; do
  name=${client%%:*}
  signer=${client##*:}
  cd_pki openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" \
    -keyout $name.key -out $name.csr
  cd_pki openssl x509 -req -in $name.csr -CA $signer.pem -CAkey $signer.key \
    -CAcreateserial -days 1 -out $name.pem
done
[[ -s $pki/server.pem && -s $pki/good.pem && -s $pki/bad.pem ]] ||
  fail "openssl did not make the certificates"

port=$(/usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
id=$$-$RANDOM
log=${TEST_TMPDIR:-/tmp}/ferryd_tls.log
start_bg "$log" "$FERRYD" --channel_socket=@ferry-tls-ch-$id \
  --grpc_socket=@ferry-tls-$id --metrics_address= --memory_mb=256 \
  --grpc_tls_address=127.0.0.1:$port --grpc_tls_cert="$pki/server.pem" \
  --grpc_tls_key="$pki/server.key" --grpc_tls_client_ca="$pki/ca.pem" \
  --grpc_tls_admin_names=ops
wait_for_line "$log" "ferryd ready" 60

tcp() { "$FERRYCTL" --target=127.0.0.1:$port --timeout_ms=3000 "$@" 2>&1; }
out=$(tcp health) && fail "plaintext client served: $out"
echo "ok: plaintext refused: $out"
out=$(tcp --tls_ca="$pki/ca.pem" health) && fail "client without cert served"
echo "ok: no client certificate refused"
out=$(tcp --tls_ca="$pki/ca.pem" --tls_cert="$pki/bad.pem" \
  --tls_key="$pki/bad.key" health) && fail "wrong-CA client served: $out"
echo "ok: wrong-CA client refused"
out=$(tcp --tls_ca="$pki/evil.pem" --tls_cert="$pki/good.pem" \
  --tls_key="$pki/good.key" health) && fail "server not verified: $out"
echo "ok: a server not signed by the client's CA is refused"
out=$(tcp --tls_ca="$pki/ca.pem" --tls_cert="$pki/good.pem" \
  --tls_key="$pki/good.key" health) || fail "good client refused: $out"
[[ $out == SERVING ]] || fail "unexpected: $out"
echo "ok: good client served: $out"
as() { tcp --tls_ca="$pki/ca.pem" --tls_cert="$pki/$1.pem" --tls_key="$pki/$1.key" "${@:2}"; }
out=$(as good nic list) && fail "an application certificate listed NICs: $out"
[[ $out == *PERMISSION_DENIED* ]] || fail "unexpected: $out"
echo "ok: an application's certificate: $out"
out=$(as ops nic list) || fail "the admin certificate was refused: $out"
out=$(as ops stats) || fail "the admin certificate was refused stats: $out"
echo "ok: the certificate named in --grpc_tls_admin_names lists NICs and stats"
rm -rf "$pki"
echo "PASS: the TCP listener is TLS-only and checks client certificates"
