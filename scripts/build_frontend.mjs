// Bundles each page's front-end (engine/web/frontend/<page>.js) with esbuild into build/frontend/: content-hashed
// names, a .br and a .gz beside every text file, and manifest.json naming each page's script and style sheet.
// Run by scripts/setup.sh (ensure_frontend) whenever its inputs change; the app refuses to start without it.
import { build } from 'esbuild';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const sources = join(root, 'engine', 'web', 'frontend');
const target = join(root, 'build', 'frontend');
const partial = `${target}.${process.pid}.tmp`;
const pages = readdirSync(sources).filter(name => name.endsWith('.js')).sort();

let result;
try {
  result = await build({
  absWorkingDir: root,
  entryPoints: pages.map(name => join(sources, name)),
  outdir: partial,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome100', 'firefox100', 'safari15'],
  entryNames: '[name]-[hash]',
  assetNames: '[name]-[hash]',
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file', '.png': 'file' },
  define: { 'process.env.NODE_ENV': '"production"' },
  metafile: true,
  logLevel: 'warning',
  });
} catch {
  rmSync(partial, { recursive: true, force: true });
  process.exit(1);  // esbuild has said what and where
}

const manifest = {};
for (const [output, meta] of Object.entries(result.metafile.outputs)) {
  if (!meta.entryPoint) continue;
  const page = basename(meta.entryPoint, '.js');
  manifest[`${page}.js`] = relative(partial, join(root, output));
  if (meta.cssBundle) manifest[`${page}.css`] = relative(partial, join(root, meta.cssBundle));
}
for (const name of readdirSync(partial)) {
  if (!/\.(js|css|svg|ttf|eot)$/.test(name)) continue;  // woff/woff2/png are compressed already
  const body = readFileSync(join(partial, name));
  writeFileSync(join(partial, `${name}.br`), brotliCompressSync(body, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
  writeFileSync(join(partial, `${name}.gz`), gzipSync(body, { level: 9 }));
}
writeFileSync(join(partial, 'manifest.json'), JSON.stringify(manifest, null, 1) + '\n');
rmSync(target, { recursive: true, force: true });
renameSync(partial, target);
console.log(`built ${pages.length} pages into ${relative(root, target)}`);
