#!/bin/bash
# Starts one member of the MongoDB replica set: access control by keyfile (members
# authenticate to each other with it; clients need a user), TLS when MONGODB_TLS=true, and
# the bootstrap beside mongod (replica set and users; it exits when done).
set -euo pipefail

# mongod refuses a keyfile or key that others may read: owner-only copies in memory.
install -m 0400 /secrets/keyfile/keyfile /work/keyfile
args=(
  --replSet "$REPLICA_SET"
  --bind_ip_all
  --port 27017
  --dbpath /data/db
  --keyFile /work/keyfile
  --wiredTigerCacheSizeGB "$MONGODB_CACHE_GB"
)
if [ "$MONGODB_TLS" = "true" ]; then
  cat /secrets/tls/tls.crt /secrets/tls/tls.key > /work/mongod.pem
  chmod 0400 /work/mongod.pem
  # Every connection is TLS (members and clients); clients prove who they are with a
  # password (SCRAM), not a certificate.
  args+=(
    --tlsMode requireTLS
    --tlsCertificateKeyFile /work/mongod.pem
    --tlsCAFile /secrets/tls/ca.crt
    --tlsAllowConnectionsWithoutCertificates
  )
fi

bash /scripts/bootstrap.sh &
exec mongod "${args[@]}"
