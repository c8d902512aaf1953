#!/usr/bin/env node
// The meterbridge CLI. The TypeScript sources are compiled to dist/ by `npm ci` (the `prepare` script).
//
// This file must parse and run its version check on any Node.js that loads ES modules (12 and later): no static
// imports, no top-level await, nothing newer than ES2017 before the check. The floor is `engines.node` in
// package.json: undici (through @kubernetes/client-node) needs 22.19, and the exporters use the built-in proxy
// support of http.Agent (`proxyEnv`), new in 22.21; the kafka exporter's client (@platformatic/kafka) needs 22.22
// on the 22 line and 24.6 on the 24 line. A test keeps REQUIRED_NODE and engines.node equal.
const REQUIRED_NODE = '22.22.0';
const REQUIRED_NODE_24 = '24.6.0';

function olderThan(version, floor) {
  const have = version.split('.').map(Number);
  const need = floor.split('.').map(Number);
  for (let i = 0; i < need.length; i++) {
    if ((have[i] || 0) !== need[i]) return (have[i] || 0) < need[i];
  }
  return false;
}

const major = Number(process.versions.node.split('.')[0]);
const floor = major >= 24 ? REQUIRED_NODE_24 : REQUIRED_NODE;
if (olderThan(process.versions.node, floor)) {
  process.stderr.write(
    'meterbridge: needs Node.js ' +
      floor +
      ' or newer; this is Node.js ' +
      process.versions.node +
      ' (' +
      process.execPath +
      ').\n' +
      'Install Node.js 22 (22.22 or later) or 24 (24.6 or later). In a clone of the repository, `npx meterbridge` runs on the\n' +
      'Node.js 24 that `npm ci` installs as a dev dependency.\n',
  );
  process.exit(1);
}

import('node:fs')
  .then((fs) => {
    const entry = new URL('../dist/cli/main.js', import.meta.url);
    if (!fs.existsSync(entry)) {
      process.stderr.write('meterbridge: dist/ is missing; run `npm ci` (or `npm run build`) first\n');
      process.exit(1);
    }
    return import(entry.href);
  })
  .then((cli) => cli.main(process.argv.slice(2)))
  .then((code) => {
    process.exitCode = code;
  })
  .catch((err) => {
    process.stderr.write('meterbridge: ' + (err && err.stack ? err.stack : String(err)) + '\n');
    process.exitCode = 1;
  });
