import { defineConfig } from 'vite'

// The console is served by assetgate at /console/ (console/console.go);
// scripts/build-console.sh passes --outDir. Nothing is inlined into
// index.html: the page's Content-Security-Policy allows no inline script
// or style.
export default defineConfig({
  base: '/console/',
  build: {
    outDir: '../../console/dist',
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
    chunkSizeWarningLimit: 2000,
    rolldownOptions: { checks: { pluginTimings: false } },
  },
})
