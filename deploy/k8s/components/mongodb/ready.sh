#!/bin/bash
# Readiness: this member serves as primary or secondary (not while starting, recovering or
# before the set is initiated). `hello` needs no login.
tls=()
if [ "$MONGODB_TLS" = "true" ]; then
  tls=(--tls --tlsCAFile /secrets/tls/ca.crt --tlsAllowInvalidHostnames)
fi
state="$(mongosh --quiet --norc "${tls[@]}" "mongodb://127.0.0.1:27017/admin?directConnection=true" \
  --eval 'const h = db.hello(); h.isWritablePrimary || h.secondary' 2>/dev/null)"
[ "$state" = "true" ]
