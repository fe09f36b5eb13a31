// Installs a pinned code-server (VS Code's workbench served to a browser, with a real Node.js extension
// host) from the npm registry into a cache folder outside the checkout, and reuses it when present.
// Shared by `npm start` (when `code` is not on the PATH) and the end-to-end tests.
//
//   node scripts/codeServer.js install   # installs if needed, prints {"version","node","entry"} as JSON
//   node scripts/codeServer.js where     # prints the same without installing (exit 1 if missing)
//
// Why these pins: code-server 4.139.1 (VS Code 1.139.1) needs Node 24; the npm package node@24.21.0
// ships that binary and its headers (node-gyp compiles code-server's native addons against them).
// Its internals (URL payload, page config) are used by the tests, so the version is pinned, not ranged.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CODE_SERVER_VERSION = '4.139.1';
const NODE_VERSION = '24.21.0';

/** `$LOCUS_TOOLS_DIR`, else `$XDG_CACHE_HOME/locus`, else `~/.cache/locus`. */
function toolsDir() {
  if (process.env.LOCUS_TOOLS_DIR) return path.resolve(process.env.LOCUS_TOOLS_DIR);
  const cache = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(cache, 'locus');
}

const installDir = () => path.join(toolsDir(), `code-server-${CODE_SERVER_VERSION}`);
const markerFile = (dir) => path.join(dir, 'installed.json');

/** The install recorded by a previous run, or undefined. */
function where() {
  const marker = markerFile(installDir());
  if (!fs.existsSync(marker)) return undefined;
  const info = JSON.parse(fs.readFileSync(marker, 'utf8'));
  return fs.existsSync(info.node) && fs.existsSync(info.entry) ? info : undefined;
}

/** Apt packages code-server's install needs on Debian, checked up front so the failure says what to do. */
function missingSystemPackages() {
  const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
  const missing = [];
  if (!has('pkg-config')) missing.push('pkg-config');
  else if (spawnSync('pkg-config', ['--exists', 'krb5-gssapi']).status !== 0) missing.push('libkrb5-dev');
  if (!has('make') || !has('g++')) missing.push('build-essential');
  if (!has('python3')) missing.push('python3');
  return missing;
}

function log(msg) {
  process.stderr.write(`[code-server] ${msg}\n`);
}

/** `npm install` in `dir` (a fresh private package), output to `logFile`; throws with the log's tail on failure. */
function npmInstall(dir, spec, env, logFile) {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), '{ "private": true }\n');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const args = ['install', '--no-audit', '--no-fund', '--no-save', '--foreground-scripts', spec];
  // Under `npm test` / `npm start` the outer npm's lifecycle variables (npm_config_user_agent naming Node 20,
  // npm_config_* settings) would become the inner npm's config, and code-server's postinstall reads its Node
  // version from npm_config_user_agent: the inner install gets a clean npm environment.
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  const r = spawnSync(npm, args, { cwd: dir, env: { ...clean, ...env }, encoding: 'utf8', maxBuffer: 1 << 28 });
  fs.writeFileSync(logFile, `${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').slice(-40).join('\n');
    throw new Error(`npm install ${spec} failed (log: ${logFile}):\n${tail}`);
  }
}

/** The Node binary code-server runs on: this one if its major matches, else the pinned npm package's. */
function installNode(staging) {
  const wanted = NODE_VERSION.split('.')[0];
  if (process.versions.node.split('.')[0] === wanted) {
    return { node: process.execPath, nodedir: path.resolve(path.dirname(process.execPath), '..') };
  }
  log(`node@${NODE_VERSION} from the npm registry (code-server ${CODE_SERVER_VERSION} needs Node ${wanted})`);
  npmInstall(path.join(staging, 'node'), `node@${NODE_VERSION}`, {}, path.join(staging, 'node-install.log'));
  const platformPkg = `node-${process.platform}-${process.arch}`;
  const nodedir = path.join(staging, 'node', 'node_modules', 'node', 'node_modules', platformPkg);
  const node = path.join(nodedir, 'bin', process.platform === 'win32' ? 'node.exe' : 'node');
  if (!fs.existsSync(node)) throw new Error(`node@${NODE_VERSION} installed but ${node} is missing`);
  return { node, nodedir };
}

/** Installs into a staging folder, then renames it into place, so a half-done install is never reused. */
function install() {
  const existing = where();
  if (existing) return existing;
  const missing = missingSystemPackages();
  if (missing.length > 0) {
    throw new Error(
      `code-server's install compiles native addons and needs: ${missing.join(' ')}\n` +
        `  on Debian/Ubuntu: sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
  const final = installDir();
  const staging = `${final}.staging-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  const t0 = Date.now();
  try {
    const { node, nodedir } = installNode(staging);
    log(`code-server@${CODE_SERVER_VERSION} from the npm registry (its postinstall compiles native addons; minutes)`);
    const env = {
      PATH: `${path.dirname(node)}${path.delimiter}${process.env.PATH}`,
      npm_config_nodedir: nodedir, // ~/.npmrc may point node-gyp at another Node's headers
      npm_config_unsafe_perm: 'true',
      npm_config_yes: 'true',
    };
    npmInstall(path.join(staging, 'cs'), `code-server@${CODE_SERVER_VERSION}`, env, path.join(staging, 'cs-install.log'));
    const entry = path.join(final, 'cs', 'node_modules', 'code-server', 'out', 'node', 'entry.js');
    const info = { version: CODE_SERVER_VERSION, node: node.replace(staging, final), entry };
    fs.writeFileSync(markerFile(staging), JSON.stringify(info, null, 2) + '\n');
    try {
      fs.renameSync(staging, final);
    } catch (e) {
      if (!where()) throw e; // another process finished the same install first: use theirs
      fs.rmSync(staging, { recursive: true, force: true });
    }
    log(`installed in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${final}`);
    return where();
  } catch (e) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw e;
  }
}

module.exports = { CODE_SERVER_VERSION, NODE_VERSION, toolsDir, where, install };

if (require.main === module) {
  const cmd = process.argv[2] ?? 'install';
  try {
    const info = cmd === 'where' ? where() : cmd === 'install' ? install() : undefined;
    if (cmd !== 'where' && cmd !== 'install') throw new Error(`usage: node scripts/codeServer.js install|where`);
    if (!info) process.exit(1);
    process.stdout.write(JSON.stringify(info) + '\n');
  } catch (e) {
    process.stderr.write(`[code-server] ${e.message}\n`);
    process.exit(2);
  }
}
