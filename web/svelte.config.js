import adapter from '@sveltejs/adapter-static';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/**
 * A single-page app built to static files that the service itself serves (src/http/web-app.ts):
 * every route falls back to one shell page, and the app talks to /graphql only.
 */
export default {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ fallback: '200.html' }),
    // Fonts, scripts and styles all come from this origin: the UI works offline.
    inlineStyleThreshold: 0,
  },
};
