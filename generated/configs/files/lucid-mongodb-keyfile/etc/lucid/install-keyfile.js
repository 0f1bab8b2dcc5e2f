// Copies the key file secret to the volume mongod reads, mode 0400.
const fs = require('fs');
const key = fs.readFileSync('/run/secrets/MONGODB_KEYFILE', 'utf8').trim();
const path = '/keyfile/mongodb.key';
let current = null;
try { current = fs.readFileSync(path, 'utf8'); } catch (e) { current = null; }
if (current !== key) {
  if (current !== null) { fs.chmodSync(path, 0o600); }
  fs.writeFileSync(path, key, { mode: 0o600 });
  fs.chmodSync(path, 0o400);
  print('key file installed');
} else {
  print('key file up to date');
}
