// The Content-Security-Policy of the gateway's own pages (/docs, /ui): keys are typed into them.

/**
 * Nothing but the gateway itself: no third-party code, no inline script, no request to another origin (the docs'
 * "Try it out" and the dashboard call the gateway), never inside a frame. Images also as data: (Swagger UI's
 * stylesheet draws its icons as data: SVGs).
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");
