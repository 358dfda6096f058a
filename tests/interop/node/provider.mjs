// A certified OpenID provider (the npm package `oidc-provider`) on loopback, configured like a
// ZITADEL native app, for the interop tests (issue 7). Started by
// crates/passkeys-cli/tests/interop_oidc.rs; prints one JSON line {"issuer","client_id"} on
// stdout once it listens, and exits when its stdin closes (so it never outlives the test).
//
//   node provider.mjs [--port N] [--access-token-ttl SECS] [--tamper MODE] [--audience MODE]
//
// The client: public (token_endpoint_auth_method none), application_type native, redirect URI
// http://127.0.0.1/callback (oidc-provider accepts any port for loopback redirect URIs of native
// clients, RFC 8252 §7.3), grant types authorization_code + refresh_token. PKCE S256 is
// required, refresh tokens are issued for offline_access and rotated on every use, revocation
// and introspection are enabled.
//
// Besides oidc-provider's own endpoints this serves:
// - /interaction/:uid: a login page (user `alice`, password `wonderland`) and a consent page,
//   plain HTML forms that tests/interop/node/browser.mjs completes;
// - GET /auth/v1/users/me: a minimal ZITADEL-shaped GetMyUser whose bearer token is judged by
//   oidc-provider's own token store (so `passkeys whoami` exercises refresh end to end);
// - GET /__interop/events: what the provider saw (token grants, revocations, destroyed tokens).
//
// --audience multi (default) re-signs every ID token of a token response the way ZITADEL shapes
// it (docs/zitadel-fidelity.md T13/T14, zitadel/zitadel#9200): `aud` is an array of a sibling
// app's client id, ours (not first), the project id and, when the
// urn:zitadel:iam:org:project:id:zitadel:aud scope was granted, the ZITADEL project id; `azp`
// is our client id. Signed with the provider's own key, so the signature stays valid.
// --audience single keeps oidc-provider's single-audience ID tokens.
//
// --tamper changes the id_token of authorization_code token responses after oidc-provider
// signed it: `signature` (one bit of the signature flipped), `payload` (sub changed, signature
// kept), `foreign-key` (re-signed with a key that is not in the JWKS, same kid), `alg-none`
// (header alg none, no signature).

import crypto from 'node:crypto';
import http from 'node:http';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'access-token-ttl': { type: 'string', default: '3600' },
    tamper: { type: 'string', default: '' },
    audience: { type: 'string', default: 'multi' },
  },
});

const CLIENT_ID = 'passkeys-interop-native';
const USER = {
  login: 'alice',
  password: 'wonderland',
  sub: '7301999000000000001',
  name: 'Alice Liddell',
  email: 'alice@example.test',
};
const TAMPER_MODES = new Set(['', 'signature', 'payload', 'foreign-key', 'alg-none']);
if (!TAMPER_MODES.has(args.tamper)) {
  process.stderr.write(`unknown --tamper ${args.tamper}\n`);
  process.exit(2);
}
if (!['multi', 'single'].includes(args.audience)) {
  process.stderr.write(`unknown --audience ${args.audience}\n`);
  process.exit(2);
}
// ZITADEL-like ids for the multi-audience ID token (T13).
const SIBLING_APP_ID = '312345678901234999';
const PROJECT_ID = '312345678901230001';
const ZITADEL_PROJECT_ID = '312345678901200002';
const ZITADEL_AUD_SCOPE = 'urn:zitadel:iam:org:project:id:zitadel:aud';

const events = [];
const record = (type, detail = {}) => events.push({ type, at: Date.now(), ...detail });

const signingKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const jwk = { ...signingKey.export({ format: 'jwk' }), kid: 'interop-rs256', use: 'sig', alg: 'RS256' };

const escapeHtml = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title, body) => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`;

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
}

function b64urlJson(obj) {
  return Buffer.from(JSON.stringify(obj)).toString('base64url');
}

function tamperIdToken(jwt, mode) {
  const [h, p, s] = jwt.split('.');
  switch (mode) {
    case 'signature': {
      const sig = Buffer.from(s, 'base64url');
      sig[sig.length - 1] ^= 0x01;
      return `${h}.${p}.${sig.toString('base64url')}`;
    }
    case 'payload': {
      const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
      claims.sub = 'mallory';
      return `${h}.${b64urlJson(claims)}.${s}`;
    }
    case 'foreign-key': {
      const rogue = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const sig = crypto.sign('sha256', Buffer.from(`${h}.${p}`), rogue);
      return `${h}.${p}.${sig.toString('base64url')}`;
    }
    case 'alg-none': {
      const header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
      header.alg = 'none';
      return `${b64urlJson(header)}.${p}.`;
    }
    default:
      return jwt;
  }
}

// T13/T14: aud = [sibling app, our client, project, ZITADEL project (with the scope)], azp = us.
function zitadelAudience(jwt, scope) {
  const [h, p] = jwt.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  const aud = [SIBLING_APP_ID, CLIENT_ID, PROJECT_ID];
  if (String(scope || '').split(' ').includes(ZITADEL_AUD_SCOPE)) aud.push(ZITADEL_PROJECT_ID);
  claims.aud = aud;
  claims.azp = CLIENT_ID;
  const payload = b64urlJson(claims);
  const sig = crypto.sign('sha256', Buffer.from(`${h}.${payload}`), signingKey);
  return `${h}.${payload}.${sig.toString('base64url')}`;
}

// Listen first (port 0 picks a free one), so the issuer can carry the real port.
const server = http.createServer();
await new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(Number(args.port), '127.0.0.1', resolve);
});
const ISSUER = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(ISSUER, {
  clients: [{
    client_id: CLIENT_ID,
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://127.0.0.1/callback'],
    post_logout_redirect_uris: ['http://127.0.0.1/callback'],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
  }],
  jwks: { keys: [jwk] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'profile', 'email', 'urn:zitadel:iam:org:project:id:zitadel:aud'],
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email', 'email_verified'],
  },
  // Put the scope-requested claims into the ID token (as ZITADEL does), so the client's
  // reading of `name` is checked too.
  conformIdTokenClaims: false,
  pkce: { required: () => true, methods: ['S256'] },
  // OIDC Core §11 lets offline_access through only with prompt=consent "unless other
  // conditions ... are in place", and oidc-provider drops it otherwise. The app does not send
  // prompt=consent (ZITADEL issues refresh tokens for offline_access without it), so the other
  // condition here is: a native client allowed the refresh_token grant.
  issueRefreshToken: async (ctx, client) => client.grantTypeAllowed('refresh_token')
    && client.applicationType === 'native',
  rotateRefreshToken: true,
  ttl: {
    AccessToken: Number(args['access-token-ttl']),
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
    RefreshToken: 24 * 3600,
  },
  features: {
    devInteractions: { enabled: false },
    revocation: { enabled: true },
    introspection: { enabled: true },
  },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (ctx, id) => (id === USER.sub ? {
    accountId: id,
    claims: async () => ({
      sub: USER.sub,
      name: USER.name,
      preferred_username: USER.login,
      email: USER.email,
      email_verified: true,
    }),
  } : undefined),
});
// ZITADEL applies the native-app loopback rule to post-logout redirect URIs too (any port,
// same path and query; docs/zitadel-fidelity.md V4, T2); oidc-provider compares them exactly.
// The app's post_logout_redirect_uri carries the listener's ephemeral port.
const exactPostLogout = provider.Client.prototype.postLogoutRedirectUriAllowed;
provider.Client.prototype.postLogoutRedirectUriAllowed = function postLogoutAllowed(value) {
  let requested;
  try { requested = new URL(value); } catch { return false; }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(requested.hostname);
  if (this.applicationType === 'native' && requested.protocol === 'http:' && loopback) {
    return this.postLogoutRedirectUris.some((allowed) => {
      const a = new URL(allowed);
      return a.protocol === 'http:' && a.pathname === requested.pathname
        && a.search === requested.search;
    });
  }
  return exactPostLogout.call(this, value);
};


for (const name of ['grant.success', 'grant.error', 'grant.revoked', 'revocation.error',
  'refresh_token.consumed', 'refresh_token.destroyed', 'access_token.destroyed',
  'authorization.error', 'server_error']) {
  provider.on(name, (ctx, arg) => {
    const detail = {};
    if (ctx?.oidc?.params?.grant_type) detail.grant_type = ctx.oidc.params.grant_type;
    if (name === 'grant.revoked' && typeof arg === 'string') detail.grant_id = arg;
    if (arg instanceof Error || ctx instanceof Error) {
      const e = arg instanceof Error ? arg : ctx;
      detail.error = e.error || e.message;
      detail.error_description = e.error_description;
    }
    record(name, detail);
  });
}

// Our interaction pages, the ZITADEL-shaped resource endpoint and the test introspection.
// ZITADEL identifies the app of a multi-audience id_token_hint by its `azp` (docs/
// zitadel-fidelity.md V5); oidc-provider compares `client_id` with `aud` as a string. So a hint
// whose `aud` is a ZITADEL-shaped array is narrowed to its `azp` (and re-signed with the same
// key) before oidc-provider's end_session sees it. The app's request is otherwise untouched.
provider.use(async (ctx, next) => {
  if (ctx.path === '/session/end' && typeof ctx.query.id_token_hint === 'string') {
    const [h, p, sig] = ctx.query.id_token_hint.split('.');
    let claims;
    try { claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')); } catch { claims = null; }
    if (claims && Array.isArray(claims.aud) && claims.azp && sig) {
      const original = crypto.verify('sha256', Buffer.from(`${h}.${p}`), signingKey,
        Buffer.from(sig, 'base64url'));
      if (original) {
        claims.aud = claims.azp;
        const payload = b64urlJson(claims);
        const resigned = crypto.sign('sha256', Buffer.from(`${h}.${payload}`), signingKey);
        ctx.query = { ...ctx.query, id_token_hint: `${h}.${payload}.${resigned.toString('base64url')}` };
      }
    }
  }
  await next();
});

provider.use(async (ctx, next) => {
  const match = /^\/interaction\/([\w-]+)(\/(login|consent))?$/.exec(ctx.path);
  if (match) {
    const [, uid, , step] = match;
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    if (details.uid !== uid) ctx.throw(400, 'interaction mismatch');
    const { prompt, params, session } = details;
    if (ctx.method === 'GET' && !step) {
      ctx.type = 'html';
      if (prompt.name === 'login') {
        ctx.body = page('Sign in', `<form method="post" action="/interaction/${uid}/login">
<label>Login <input name="login" autocomplete="username"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button></form>`);
      } else if (prompt.name === 'consent') {
        ctx.body = page('Allow access', `<p>${escapeHtml(params.client_id)} asks for: ${escapeHtml(params.scope)}</p>
<form method="post" action="/interaction/${uid}/consent"><button type="submit">Allow</button></form>`);
      } else {
        ctx.throw(501, `prompt ${prompt.name} not implemented`);
      }
      return;
    }
    if (ctx.method === 'POST' && step === 'login' && prompt.name === 'login') {
      const form = await readForm(ctx.req);
      if (form.login !== USER.login || form.password !== USER.password) {
        ctx.status = 401;
        ctx.type = 'html';
        ctx.body = page('Wrong login or password', `<p><a href="/interaction/${uid}">Try again</a></p>`);
        return;
      }
      await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: USER.sub } },
        { mergeWithLastSubmission: false });
      return;
    }
    if (ctx.method === 'POST' && step === 'consent' && prompt.name === 'consent') {
      await readForm(ctx.req);
      const grant = details.grantId
        ? await provider.Grant.find(details.grantId)
        : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
      const { missingOIDCScope, missingOIDCClaims } = prompt.details;
      if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
      if (missingOIDCClaims) grant.addOIDCClaims(missingOIDCClaims);
      const grantId = await grant.save();
      await provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } },
        { mergeWithLastSubmission: true });
      return;
    }
    ctx.throw(400, 'unexpected interaction request');
  }

  if (ctx.method === 'GET' && ctx.path === '/auth/v1/users/me') {
    const auth = ctx.get('authorization');
    const token = /^bearer (.+)$/i.exec(auth)?.[1];
    const at = token ? await provider.AccessToken.find(token) : undefined;
    record('resource.request', { valid: Boolean(at) });
    if (!at) {
      ctx.status = 401;
      ctx.set('www-authenticate', 'Bearer error="invalid_token"');
      ctx.body = { code: 16, message: 'Errors.Token.Invalid (AUTH-7fs1e)' };
      return;
    }
    ctx.body = {
      user: {
        id: at.accountId,
        userName: USER.login,
        preferredLoginName: USER.email,
        loginNames: [USER.email],
        human: { profile: { displayName: USER.name }, email: { email: USER.email } },
      },
    };
    return;
  }

  if (ctx.method === 'GET' && ctx.path === '/__interop/events') {
    ctx.body = events;
    return;
  }

  await next();

  if (args.audience === 'multi' && ctx.path === '/token' && ctx.status === 200
    && ctx.body?.id_token) {
    const entities = ctx.oidc?.entities || {};
    const scope = entities.AuthorizationCode?.scope ?? entities.RefreshToken?.scope
      ?? ctx.oidc?.params?.scope ?? '';
    ctx.body = { ...ctx.body, id_token: zitadelAudience(ctx.body.id_token, scope) };
    record('id_token.zitadel_audience', { grant_type: ctx.oidc?.params?.grant_type });
  }

  if (args.tamper && ctx.path === '/token' && ctx.status === 200 && ctx.body?.id_token
    && ctx.oidc?.params?.grant_type === 'authorization_code') {
    ctx.body = { ...ctx.body, id_token: tamperIdToken(ctx.body.id_token, args.tamper) };
    record('id_token.tampered', { mode: args.tamper });
  }
});

server.on('request', provider.callback());
process.stdout.write(`${JSON.stringify({ issuer: ISSUER, client_id: CLIENT_ID })}\n`);

process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
