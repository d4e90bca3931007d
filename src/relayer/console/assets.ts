import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { Route } from '../http-server.js';

/**
 * The console's static files, read once at start: htmx and uPlot from node_modules (they ship
 * with the package; no CDN at run time) and the console's own stylesheet and script beside this
 * file. Public routes: they hold no data, and the login prompt needs them.
 */
const require = createRequire(import.meta.url);
const own = (name: string) => fileURLToPath(new URL(`./assets/${name}`, import.meta.url));

const FILES: Record<string, { path: () => string; type: string }> = {
  'htmx.min.js': { path: () => require.resolve('htmx.org/dist/htmx.min.js'), type: 'text/javascript' },
  'uplot.min.js': { path: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript' },
  'uplot.min.css': { path: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css' },
  'console.js': { path: () => own('console.js'), type: 'text/javascript' },
  'console.css': { path: () => own('console.css'), type: 'text/css' },
};

export function assetRoutes(): Route[] {
  const loaded = Object.entries(FILES).map(([name, f]) => ({
    name,
    type: `${f.type}; charset=utf-8`,
    body: readFileSync(f.path()),
  }));
  const favicon: Route = {
    method: 'GET',
    path: '/favicon.ico',
    access: 'public',
    handler: async () => ({ status: 204, text: '' }),
  };
  return [
    favicon,
    ...loaded.map((file) => ({
      method: 'GET' as const,
      path: `/assets/${file.name}`,
      access: 'public' as const,
      handler: async () => ({
        body: file.body,
        contentType: file.type,
        headers: { 'cache-control': 'public, max-age=300' },
      }),
    })),
  ];
}
