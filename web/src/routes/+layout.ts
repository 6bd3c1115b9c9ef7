// A client-side app: the service serves one shell page for every route (see svelte.config.js).
export const ssr = false;
export const prerender = false;
