// Runs a generated mongosh script (argv[2]) against a fake MongoDB that
// follows the documented rules the real one enforces:
// - with authorization on and no user yet, the localhost exception lets an
//   unauthenticated client initiate the replica set and create the first
//   user (and nothing else); once any user exists, every command but
//   `hello` needs authentication;
// - users are created on a writable primary only;
// - `replSetInitiate` on an initiated set fails with AlreadyInitialized.
// State persists in a JSON file (argv[3]) between runs, like a data volume.
// Paths under /run/secrets/ and /keyfile/ are mapped into argv[4], so the
// script runs unchanged. With THROWING=1, failed commands throw (as some
// mongosh versions do) instead of returning `ok: 0`.
'use strict';
const fs = require('fs');
const path = require('path');
const vm = require('vm');

const [script, statePath, root] = process.argv.slice(2);
const throwing = process.env.THROWING === '1';
const state = fs.existsSync(statePath)
  ? JSON.parse(fs.readFileSync(statePath, 'utf8'))
  : { initiated: false, members: [], users: {} };
let authed = null;

const mapped = (p) => {
  for (const prefix of ['/run/secrets/', '/keyfile/']) {
    if (typeof p === 'string' && p.startsWith(prefix)) return path.join(root, p);
  }
  throw new Error('the script touched a path outside its mounts: ' + p);
};
const mappedFs = {
  readFileSync: (p, ...a) => fs.readFileSync(mapped(p), ...a),
  writeFileSync: (p, ...a) => fs.writeFileSync(mapped(p), ...a),
  chmodSync: (p, ...a) => fs.chmodSync(mapped(p), ...a),
};

class Quit extends Error { constructor(code) { super('quit ' + code); this.code = code; } }
const anyUser = () => Object.keys(state.users).length > 0;
const localhostException = () => !anyUser();
const fail = (codeName) => {
  if (throwing) { const e = new Error(codeName); e.codeName = codeName; throw e; }
  return { ok: 0, codeName };
};
const key = (db, user) => db + '.' + user;

function siblingDb(name) {
  const db = {
    getSiblingDB: siblingDb,
    auth(user, pwd) {
      const u = state.users[key(name, user)];
      if (!u || u.pwd !== pwd) throw new Error('Authentication failed.');
      authed = key(name, user);
      return { ok: 1 };
    },
    runCommand(cmd) {
      if ('hello' in cmd) return { ok: 1, isWritablePrimary: state.initiated };
      const isRoot = authed !== null && state.users[authed].roles.some((r) => r.role === 'root');
      if ('replSetGetStatus' in cmd) {
        if (!isRoot) return fail('Unauthorized');
        return state.initiated ? { ok: 1 } : fail('NotYetInitialized');
      }
      if ('replSetInitiate' in cmd) {
        if (!isRoot && !localhostException()) return fail('Unauthorized');
        if (state.initiated) return fail('AlreadyInitialized');
        state.initiated = true;
        state.members = cmd.replSetInitiate.members.map((m) => m.host);
        return { ok: 1 };
      }
      if ('createUser' in cmd) {
        if (!isRoot && !localhostException()) return fail('Unauthorized');
        if (!state.initiated) return fail('NotWritablePrimary');
        if (state.users[key(name, cmd.createUser)]) return fail('Location51003');
        state.users[key(name, cmd.createUser)] = { pwd: cmd.pwd, roles: cmd.roles };
        return { ok: 1 };
      }
      return fail('CommandNotFound');
    },
    createUser(spec) {
      const r = db.runCommand({ createUser: spec.user, pwd: spec.pwd, roles: spec.roles });
      if (r.ok !== 1) throw new Error('createUser failed: ' + r.codeName);
    },
    updateUser(user, update) {
      if (authed === null) throw new Error('requires authentication');
      const u = state.users[key(name, user)];
      if (!u) throw new Error('UserNotFound');
      u.pwd = update.pwd;
    },
    getUser(user) {
      if (authed === null) throw new Error('requires authentication');
      const u = state.users[key(name, user)];
      return u ? { user, roles: u.roles } : null;
    },
  };
  return db;
}

const printed = [];
const context = {
  require: (m) => (m === 'fs' ? mappedFs : require(m)),
  print: (...a) => printed.push(a.join(' ')),
  quit: (code) => { throw new Quit(code === undefined ? 0 : code); },
  sleep: () => {},
  db: siblingDb('admin'),
  rs: { initiate: (cfg) => siblingDb('admin').runCommand({ replSetInitiate: cfg }) },
};
let code = 0;
try {
  vm.runInNewContext(fs.readFileSync(script, 'utf8'), context, { filename: script });
} catch (e) {
  if (e instanceof Quit) code = e.code;
  else { printed.push('uncaught: ' + e.message); code = 1; }
}
fs.writeFileSync(statePath, JSON.stringify(state));
process.stdout.write(printed.join('\n') + '\n');
process.exit(code);
