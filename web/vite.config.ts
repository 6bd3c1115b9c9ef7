import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

/** Where `npm run dev:web` sends API calls: a service started with `npm run dev` or `npm start`. */
const service = process.env.SERVICE_URL ?? 'http://127.0.0.1:4000';

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: Object.fromEntries(['/graphql', '/images', '/thumbnails'].map((path) => [path, service])),
  },
});
