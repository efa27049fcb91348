// The services' MongoDB role and user, created or brought up to date (idempotent).
// Used by the Kubernetes bootstrap (as root: MONGO_ROOT_* set) and by docker compose's first
// start (docker-entrypoint-initdb.d, before access control is on: no login needed).
//
// MongoDB cannot grant by database name prefix, so the role covers every non-system
// collection: a deployment's MongoDB serves Wijkkracht only. It can read and write data,
// manage the indexes and collections the services create at start-up, drop a tenant's
// database, list databases (the outbox relay finds tenants) and read serverStatus (the
// storage layer tells the engine apart). No user administration, no replication or
// sharding commands, no access to system collections.
const admin = db.getSiblingDB("admin");
const rootUser = process.env.MONGO_ROOT_USERNAME;
if (rootUser && !admin.runCommand({connectionStatus: 1}).authInfo.authenticatedUsers.length) {
  admin.auth(rootUser, process.env.MONGO_ROOT_PASSWORD);
}

const role = "wijkkrachtApp";
const privileges = [
  {
    resource: {db: "", collection: ""},
    actions: [
      "find", "insert", "update", "remove",
      "createCollection", "dropCollection", "createIndex", "dropIndex",
      "listCollections", "listIndexes", "collStats", "dbStats", "dropDatabase",
    ],
  },
  {resource: {cluster: true}, actions: ["listDatabases", "serverStatus"]},
];
if (admin.getRole(role) === null) {
  admin.createRole({role, privileges, roles: []});
} else {
  admin.updateRole(role, {privileges, roles: []});
}

const user = process.env.MONGO_APP_USERNAME;
const roles = [{role, db: "admin"}];
if (admin.getUser(user) === null) {
  admin.createUser({user, pwd: process.env.MONGO_APP_PASSWORD, roles});
} else {
  admin.updateUser(user, {pwd: process.env.MONGO_APP_PASSWORD, roles});
}
print(`application user ${user} ready`);
