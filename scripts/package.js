// `npm run package`: a platform-specific .vsix for this machine (or `-- --target win32-x64` etc.).
// esbuild bundles everything except onnxruntime-node, so the package carries the bundles, the embedded
// model and data, and onnxruntime-node with only the target's native binaries (the npm package holds
// every platform's: 288 MB). The file list is .vscodeignore's allowlist, narrowed to the target and
// handed to vsce as --ignoreFile.
//
//   node scripts/package.js [--target T] [--no-build] [--out DIR]   # prints the .vsix path last
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const repo = path.resolve(__dirname, '..');

/** vsce's target names: `linux-armhf` for 32-bit ARM, otherwise `<platform>-<arch>`. */
function targetOf(platform, arch) {
  return `${platform}-${arch === 'arm' ? 'armhf' : arch}`;
}

/** The inverse, for finding onnxruntime-node's binaries (`bin/napi-v6/<platform>/<arch>`). */
function platformOf(target) {
  const [platform, arch] = target.split('-');
  return { platform, arch: arch === 'armhf' ? 'arm' : arch };
}

function option(name) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const ALL_BINARIES = '!node_modules/onnxruntime-node/bin/**';

/** .vscodeignore (the allowlist of shipped files) with onnxruntime-node's binaries narrowed to `target`'s. */
function allowlist(target) {
  const { platform, arch } = platformOf(target);
  const binDir = `node_modules/onnxruntime-node/bin/napi-v6/${platform}/${arch}`;
  if (!fs.existsSync(path.join(repo, binDir))) {
    throw new Error(`onnxruntime-node has no binaries for ${target} (looked in ${binDir})`);
  }
  const lines = fs.readFileSync(path.join(repo, '.vscodeignore'), 'utf8').split('\n');
  if (!lines.some((l) => l.trim() === ALL_BINARIES)) throw new Error(`.vscodeignore lacks the line ${ALL_BINARIES}`);
  return lines.map((l) => (l.trim() === ALL_BINARIES ? `!${binDir}/*` : l)).join('\n');
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: repo, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}`);
}

function main() {
  const target = option('--target') ?? targetOf(process.platform, process.arch);
  const outDir = path.resolve(repo, option('--out') ?? 'dist-package');
  const { version, name } = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
  fs.mkdirSync(outDir, { recursive: true });
  const ignoreFile = path.join(outDir, `vscodeignore-${target}`);
  fs.writeFileSync(ignoreFile, allowlist(target) + '\n');

  if (!process.argv.includes('--no-build')) run(process.execPath, ['esbuild.js', '--production']);
  const vsix = path.join(outDir, `${name}-${version}-${target}.vsix`);
  const vsce = path.join(repo, 'node_modules', '@vscode', 'vsce', 'vsce');
  // No repository URL yet; README links stay as written.
  run(process.execPath, [vsce, 'package', '--target', target, '--ignoreFile', ignoreFile, '--out', vsix,
    '--allow-missing-repository', '--no-rewrite-relative-links']);
  console.log(vsix);
}

try {
  main();
} catch (e) {
  console.error(`package: ${e.message}`);
  process.exit(2);
}
