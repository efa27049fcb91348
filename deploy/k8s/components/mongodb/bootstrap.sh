#!/bin/bash
# Idempotent set-up of the replica set, run beside mongod on every member (mongod.sh):
# 1. member 0, when the set has no configuration yet: waits until all MONGODB_MEMBERS
#    members answer, initiates the set with all of them, waits to become primary, and creates
#    the root user through the localhost exception (only possible while no user exists);
# 2. member 0, always: as root, creates or updates the services' role and user (app-user.js),
#    so a changed password in the `mongodb-users` Secret takes effect at its next start.
# Other members only wait for mongod; the set configuration reaches them from member 0.
set -uo pipefail

ordinal="${POD_NAME##*-}"
statefulset="${POD_NAME%-*}"
tls=()
if [ "$MONGODB_TLS" = "true" ]; then
  tls=(--tls --tlsCAFile /secrets/tls/ca.crt)
fi

member() { echo "${statefulset}-$1.${MONGODB_SERVICE}:27017"; }
# Through the loopback interface the certificate's host names cannot match "localhost"
# unless it lists it; the CA is still verified.
on_local() { mongosh --quiet --norc "${tls[@]}" ${tls:+--tlsAllowInvalidHostnames} \
  "mongodb://127.0.0.1:27017/admin?directConnection=true" "$@"; }
on_member() { local host="$1"; shift; mongosh --quiet --norc "${tls[@]}" \
  "mongodb://${host}/admin?directConnection=true" "$@"; }
log() { echo "bootstrap: $*" >&2; }

until on_local --eval 'db.adminCommand({ping: 1}).ok' >/dev/null 2>&1; do sleep 2; done
[ "$ordinal" = "0" ] || exit 0

configured="$(on_local --eval 'db.hello().setName ? "yes" : "no"' 2>/dev/null)"
if [ "$configured" != "yes" ]; then
  members=""
  for ((i = 0; i < MONGODB_MEMBERS; i++)); do
    until on_member "$(member "$i")" --eval 'db.adminCommand({ping: 1}).ok' >/dev/null 2>&1; do
      log "waiting for $(member "$i")"; sleep 3
    done
    members+="{_id: $i, host: '$(member "$i")'},"
  done
  log "initiating replica set $REPLICA_SET with $MONGODB_MEMBERS member(s)"
  on_local --eval "rs.initiate({_id: '$REPLICA_SET', members: [${members%,}]}).ok" || exit 1
fi

until [ "$(on_local --eval 'db.hello().isWritablePrimary' 2>/dev/null)" = "true" ] \
  || [ "$(on_local --eval 'db.hello().secondary' 2>/dev/null)" = "true" ]; do sleep 2; done

# The first user, through the localhost exception: refused (harmlessly) once any user exists.
on_local --eval '
  if (db.hello().isWritablePrimary) {
    db.getSiblingDB("admin").createUser({
      user: process.env.MONGO_ROOT_USERNAME,
      pwd: process.env.MONGO_ROOT_PASSWORD,
      roles: [{role: "root", db: "admin"}],
    });
    print("root user created");
  }' 2>/dev/null || true

# The services' role and user, as root, on whichever member is primary.
hosts=""
for ((i = 0; i < MONGODB_MEMBERS; i++)); do hosts+="$(member "$i"),"; done
until mongosh --quiet --norc "${tls[@]}" \
  "mongodb://${hosts%,}/admin?replicaSet=${REPLICA_SET}" /scripts/app-user.js; do
  log "retrying the application user"; sleep 5
done
log "done"
