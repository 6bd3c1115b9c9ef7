import { defineConfig } from 'vite';

/**
 * The GraphQL explorer (GraphiQL), built on its own beside the SvelteKit app: `vite build explorer`
 * from web/ (npm run build:web). The service serves it at GET /graphql and its files under `base`.
 */
export default defineConfig({
  base: '/explorer/',
  // Monaco's workers import modules of their own.
  worker: { format: 'es' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Monaco is one 2.8 MB chunk, by its own design: there is nothing to split, so no warning.
    chunkSizeWarningLimit: 3000,
    // Gzipping 6 MB only to print the sizes slows every `npm install`; the tests measure the weight.
    reportCompressedSize: false,
    rollupOptions: {
      onwarn(warning, warn) {
        // React components' "use client" markers mean nothing outside a server-components bundler.
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
});
