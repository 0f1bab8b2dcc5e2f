// Idempotent: initiate rs0 once, then keep both users' passwords
// equal to the current secrets. Never prints a password.
const fs = require('fs');
const secret = (path) => fs.readFileSync(path, 'utf8').trim();
const rootPassword = secret('/run/secrets/MONGODB_ROOT_PASSWORD');
const appPassword = secret('/run/secrets/MONGODB_PASSWORD');
const admin = db.getSiblingDB('admin');
// mongosh may throw or return ok: 0 on a failed command.
const run = (cmd) => { try { return admin.runCommand(cmd); } catch (e) { return { ok: 0, codeName: e.codeName, errmsg: e.message }; } };
const wrongRoot = 'users exist, but the root password in the secret store is not the one MongoDB has';
let loggedIn = false;
try { loggedIn = admin.auth('root', rootPassword).ok === 1; } catch (e) { loggedIn = false; }
// Before the first user exists only the localhost exception lets
// this step in; after that, root's password must match the store.
if (!loggedIn || run({ replSetGetStatus: 1 }).codeName === 'NotYetInitialized') {
  const member = 'lucid-mongodb:27017';
  const r = run({ replSetInitiate: { _id: 'rs0', members: [{ _id: 0, host: member }] } });
  if (r.ok === 1) { print('replica set rs0 initiated'); }
  else if (r.codeName === 'Unauthorized') { print(wrongRoot); quit(3); }
  else if (r.codeName !== 'AlreadyInitialized') { print('replSetInitiate failed: ' + r.codeName); quit(4); }
}
for (let i = 0; i < 60 && !run({ hello: 1 }).isWritablePrimary; i++) { sleep(1000); }
if (!loggedIn) {
  const r = run({ createUser: 'root', pwd: rootPassword, roles: [{ role: 'root', db: 'admin' }] });
  if (r.ok !== 1) { print('cannot create user root (' + r.codeName + '): ' + wrongRoot); quit(3); }
  admin.auth('root', rootPassword);
  print('user root created');
} else {
  admin.updateUser('root', { pwd: rootPassword });
}
const lucid = db.getSiblingDB('lucid');
if (lucid.getUser('lucid') === null) {
  lucid.createUser({ user: 'lucid', pwd: appPassword, roles: [{ role: 'readWrite', db: 'lucid' }] });
  print('user lucid created');
} else {
  lucid.updateUser('lucid', { pwd: appPassword });
  print('user lucid up to date');
}
