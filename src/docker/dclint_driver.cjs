// How `lucid-gen verify` runs dclint when dclint is a Node script: this file
// loads dclint's own command line (argv[2]: its path; the rest: its
// arguments), unchanged, after two memos that make it cheaper over many
// files without changing what it reports:
// - `yaml.parseDocument(text)` with no options returns the document parsed
//   last when the text is the same: every rule's check parses the file it
//   lints again (only `--fix`, which verify never passes, edits a parsed
//   document);
// - `Ajv.prototype.compile` returns the function already compiled for the
//   same schema and options: dclint builds a new Ajv and compiles the whole
//   Compose schema for every file.
// If either cannot be put in place, dclint runs as it is.
'use strict';
const bin = process.argv[2];
try {
  const req = require('node:module').createRequire(bin);
  const yaml = req('yaml');
  const parse = yaml.parseDocument;
  let last = null;
  yaml.parseDocument = function parseDocument(src, ...rest) {
    if (rest.length !== 0 || typeof src !== 'string') return parse.call(this, src, ...rest);
    if (last === null || last.src !== src) last = { src, doc: parse.call(this, src) };
    return last.doc;
  };
  const Ajv = req('ajv').Ajv;
  const compile = Ajv.prototype.compile;
  const compiled = new Map();
  Ajv.prototype.compile = function (schema, meta) {
    const plain = (v) => v === null || (typeof v !== 'object' && typeof v !== 'function');
    const opts = Object.entries(this.opts).filter(([, v]) => plain(v));
    let key;
    try {
      key = JSON.stringify([schema, meta === undefined ? null : meta, opts]);
    } catch {
      return compile.call(this, schema, meta);
    }
    let validate = compiled.get(key);
    if (validate === undefined) {
      validate = compile.call(this, schema, meta);
      compiled.set(key, validate);
    }
    return validate;
  };
} catch {
  // dclint's modules are not where this expects them: run it as it is.
}
process.argv = [process.argv[0], bin, ...process.argv.slice(3)];
require(bin);
