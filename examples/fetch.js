// A fetch handler (the shape Hono and others export):
//   npx gunicorn-ts examples/fetch.js:default
export default {
  async fetch(request) {
    const url = new URL(request.url);
    return new Response(`Hello from ${url.pathname}\n`, { headers: { 'content-type': 'text/plain' } });
  },
};
