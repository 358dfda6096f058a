// A $BROWSER stand-in for the interop tests: gets the authorization URL as its last argument,
// keeps its own cookie jar, follows redirects and fills in the provider's login and consent
// forms (login `alice`, password `wonderland`), until the provider redirects to the app's
// loopback redirect URI, which it then requests like a browser would. Given an end_session URL
// (`passkeys logout`), it confirms the sign-out and follows the post-logout redirect the same way.
//
//   BROWSER="node browser.mjs [--nonce replace|drop] [--password PW]" passkeys login
//
// --nonce replace|drop changes the authorization request's nonce before sending it, so the
// provider signs an ID token whose nonce the app did not send (the app must refuse it).
// Bounded: at most 20 requests, 10 s each. Exits 0 once the redirect URI answered.

import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    nonce: { type: 'string', default: '' },
    login: { type: 'string', default: 'alice' },
    password: { type: 'string', default: 'wonderland' },
  },
});
const start = positionals.at(-1);
if (!start) {
  process.stderr.write('browser.mjs: no URL given\n');
  process.exit(2);
}

const jar = new Map(); // name -> value (one loopback host, cookies scoped by name is enough)
const log = (msg) => process.stderr.write(`[interop browser] ${msg}\n`);

function remember(response) {
  for (const line of response.headers.getSetCookie()) {
    const [pair, ...attrs] = line.split(';');
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)
      || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1]) < Date.now()));
    if (expired || value === '') jar.delete(name);
    else jar.set(name, value);
  }
}

function cookieHeader() {
  return [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
}

function firstForm(html, base) {
  const form = /<form\b([^>]*)>([\s\S]*?)<\/form>/i.exec(html);
  if (!form) return undefined;
  const attr = (s, name) => new RegExp(`\\b${name}="([^"]*)"`, 'i').exec(s)?.[1];
  const fields = new URLSearchParams();
  for (const input of form[2].matchAll(/<input\b([^>]*)>/gi)) {
    const name = attr(input[1], 'name');
    if (!name) continue;
    const type = (attr(input[1], 'type') || 'text').toLowerCase();
    let value = attr(input[1], 'value') || '';
    if (name === 'login') value = opts.login;
    else if (type === 'password') value = opts.password;
    fields.append(name, value);
  }
  return {
    method: (attr(form[1], 'method') || 'get').toUpperCase(),
    action: new URL(attr(form[1], 'action') || base, base),
    fields,
  };
}

let url = new URL(start);
// The app opens some URLs (logout) through a one-time local address that redirects there.
if (url.hostname === '127.0.0.1' && url.pathname.startsWith('/start/')) {
  const hop = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000) });
  const location = hop.headers.get('location');
  if (!location) {
    log(`the app's start address answered ${hop.status} without a redirect`);
    process.exit(1);
  }
  url = new URL(location, url);
}
if (opts.nonce === 'replace') url.searchParams.set('nonce', `not-the-apps-${Date.now()}`);
if (opts.nonce === 'drop') url.searchParams.delete('nonce');
const providerOrigin = url.origin;
let method = 'GET';
let body;

for (let step = 0; step < 20; step += 1) {
  const headers = { cookie: cookieHeader(), accept: 'text/html' };
  if (body) headers['content-type'] = 'application/x-www-form-urlencoded';
  let response;
  try {
    response = await fetch(url, {
      method, body, headers, redirect: 'manual', signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    log(`${method} ${url.origin}${url.pathname}: ${e.message}`);
    process.exit(1);
  }
  if (url.origin !== providerOrigin) {
    // The app's loopback redirect URI answered: the sign-in is handed over.
    log(`redirect URI answered ${response.status}`);
    process.exit(response.ok ? 0 : 1);
  }
  remember(response);
  const location = response.headers.get('location');
  if (response.status >= 300 && response.status < 400 && location) {
    url = new URL(location, url);
    method = 'GET';
    body = undefined;
    continue;
  }
  const html = await response.text();
  const form = response.ok ? firstForm(html, url) : undefined;
  if (!form) {
    const text = html.replace(/<style[\s\S]*?<\/style>/gi, '').replace(/<[^>]+>/g, ' ')
      .replace(/\s+/g, ' ').trim();
    log(`stuck at ${url.pathname}: HTTP ${response.status}: ${text.slice(0, 400)}`);
    process.exit(1);
  }
  // oidc-provider's RP-initiated logout page: press "Yes, sign me out".
  if (form.action.pathname.endsWith('/session/end/confirm')) form.fields.set('logout', 'yes');
  url = form.action;
  method = form.method;
  body = method === 'POST' ? form.fields.toString() : undefined;
  if (method === 'GET') for (const [k, v] of form.fields) url.searchParams.set(k, v);
}
log('too many steps');
process.exit(1);
