/** esbuild bundles imported stylesheets into dist/webview/<panel>.css; TypeScript only needs to know they exist. */
declare module '*.css';
