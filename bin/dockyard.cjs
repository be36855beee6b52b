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
const stamp = `${fs.statSync(file).mtimeMs}-${source.length}-${process.version}`;
const cacheDirs = [path.join(__dirname, '..', 'dist', '.cache'), path.join(os.tmpdir(), 'dockyard-cache')];
let cached;
let cacheFile;
for (const dir of cacheDirs) {
  const f = path.join(dir, `${require('node:crypto').createHash('sha1').update(stamp).digest('hex')}.bin`);
  try {
    cached = fs.readFileSync(f);
    cacheFile = f;
    break;
  } catch {
    /* not cached here */
  }
}
const script = new vm.Script(Module.wrap(source), { filename: file, cachedData: cached });
if (!cached || script.cachedDataRejected) {
  process.once('exit', () => {
    const data = script.createCachedData();
    for (const dir of cacheDirs) {
      try {
        fs.mkdirSync(dir, { recursive: true });
        const f = path.join(dir, `${require('node:crypto').createHash('sha1').update(stamp).digest('hex')}.bin`);
        fs.writeFileSync(`${f}.${process.pid}`, data);
        fs.renameSync(`${f}.${process.pid}`, f);
        // caches of earlier builds are of no further use
        for (const old of fs.readdirSync(dir)) if (old.endsWith('.bin') && path.join(dir, old) !== f) fs.rmSync(path.join(dir, old), { force: true });
        return;
      } catch {
        /* try the next place */
      }
    }
  });
}
const mod = { exports: {} };
script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, path.dirname(file));
