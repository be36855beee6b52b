#!/usr/bin/env node
// Starts the bundled CLI with a V8 code cache: the second and later runs skip most of the
// parsing and compiling that dominate a short command's time (Node 20 has no built-in cache).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const os = require('node:os');
const Module = require('node:module');

const file = path.join(__dirname, '..', 'dist', 'dockyard.cjs');
const source = fs.readFileSync(file, 'utf8').replace(/^#!.*/, '');

/** FNV-1a, enough to name a cache file (node:crypto would cost a short command ~10 ms). */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, '0');
}

// One cache per build, and per kind of command: a cache holds what its run compiled, so one made
// by `config` or `--version` would leave out the engine client every engine command needs, and
// one made by `ps` most of what `up` runs (~30 ms each).
const build = hash(`${fs.statSync(file).mtimeMs}-${source.length}-${process.version}`);
const args = process.argv.slice(2);
const has = (...words) => args.some((a) => words.includes(a));
const kind = has('config', 'bake', 'help', '--help', '-h', '--version', '-V') ? 'light' : has('up', 'run') ? 'up' : 'engine';
const name = `${build}-${kind}.bin`;
// The cache sits beside the build (a global install's dist/ is usually not writable) or in the
// user's own cache folder (XDG_CACHE_HOME, else ~/.cache), never in the shared temp folder that
// another local user could make first and fill: V8 trusts what it deserializes. A cache file or
// folder is used only when it belongs to this user (or, beside the build, to the build's owner)
// and no one else can write to it.
const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
const home = process.env.HOME || os.homedir();
const cacheDirs = [
  { dir: path.join(__dirname, '..', 'dist', '.cache'), owners: [uid, fs.statSync(file).uid] },
  { dir: path.join(process.env.XDG_CACHE_HOME || path.join(home, '.cache'), 'dockyard'), owners: [uid] },
];
/** a folder or file only its owner can change, owned by one of `owners` (no such rule off POSIX) */
const trusted = (st, owners) => uid === -1 || (owners.includes(st.uid) && (st.mode & 0o022) === 0);
let cached;
for (const { dir, owners } of cacheDirs) {
  let fd;
  try {
    if (!trusted(fs.lstatSync(dir), owners)) continue;
    fd = fs.openSync(path.join(dir, name), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (!st.isFile() || !trusted(st, owners)) continue;
    cached = fs.readFileSync(fd);
    break;
  } catch {
    /* not cached here */
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData: cached });
if (!cached || script.cachedDataRejected) {
  process.once('exit', () => {
    const data = script.createCachedData();
    for (const { dir, owners } of cacheDirs) {
      try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        if (!fs.lstatSync(dir).isDirectory() || !trusted(fs.lstatSync(dir), owners)) continue;
        const f = path.join(dir, name);
        fs.writeFileSync(`${f}.${process.pid}`, data, { flag: 'wx', mode: 0o600 });
        fs.renameSync(`${f}.${process.pid}`, f);
        // caches of earlier builds are of no further use
        for (const old of fs.readdirSync(dir)) if (old.endsWith('.bin') && !old.startsWith(`${build}-`)) fs.rmSync(path.join(dir, old), { force: true });
        return;
      } catch {
        /* try the next place */
      }
    }
  });
}
const mod = { exports: {} };
script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
