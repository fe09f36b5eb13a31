// Builds every bundle. Named targets: `node esbuild.js [extension|worker|cli|webviews|all] [--production] [--watch]`.
const esbuild = require('esbuild');
const fs = require('node:fs');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('--'));

// Native and host-provided modules are never bundled: onnxruntime-node loads a .node binary,
// and `vscode` is supplied by the extension host.
const nodeExternals = ['vscode', 'onnxruntime-node', 'onnxruntime-common'];

const common = {
  bundle: true,
  minify: production,
  sourcemap: !production,
  logLevel: 'warning',
};

/** @type {Record<string, import('esbuild').BuildOptions[]>} */
const targets = {
  extension: [
    { ...common, entryPoints: ['src/extension/extension.ts'], outfile: 'dist/extension.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals },
  ],
  worker: fs.existsSync('src/worker/main.ts')
    ? [{ ...common, entryPoints: ['src/worker/main.ts'], outfile: 'dist/worker.js', platform: 'node', format: 'cjs', target: 'node20', external: nodeExternals }]
    : [],
  cli: [
    {
      ...common,
      entryPoints: ['src/cli/main.ts'],
      outfile: 'dist/cli.js',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      external: nodeExternals,
      banner: { js: '#!/usr/bin/env node' },
    },
  ],
  webviews: (fs.existsSync('webview') ? fs.readdirSync('webview', { withFileTypes: true }) : [])
    .filter((d) => d.isDirectory() && fs.existsSync(`webview/${d.name}/main.ts`))
    .map((d) => ({ ...common, entryPoints: [`webview/${d.name}/main.ts`], outfile: `dist/webview/${d.name}.js`, platform: 'browser', format: 'iife', target: 'es2022' })),
};

/** Prints `[watch] build started/finished` and file:line:col errors, for VS Code's problem matcher. */
const problemMatcher = {
  name: 'problem-matcher',
  setup(build) {
    build.onStart(() => console.log('[watch] build started'));
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      console.log('[watch] build finished');
    });
  },
};

async function main() {
  const names = wanted.length === 0 || wanted.includes('all') ? Object.keys(targets) : wanted;
  for (const n of names) {
    if (!targets[n]) throw new Error(`unknown build target "${n}"; known: ${Object.keys(targets).join(', ')}`);
  }
  const configs = names.flatMap((n) => targets[n]);
  if (watch) {
    for (const c of configs) {
      const ctx = await esbuild.context({ ...c, plugins: [problemMatcher] });
      await ctx.watch();
    }
    return;
  }
  await Promise.all(configs.map((c) => esbuild.build(c)));
}

main().catch((e) => {
  console.error(e.message ?? e);
  process.exit(1);
});
