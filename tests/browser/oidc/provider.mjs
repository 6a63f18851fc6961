// A local OpenID Connect provider for the portal's single sign-on tests:
// oidc-provider with one client and a few accounts, its sign-in form our
// own (a login and a password, over plain HTML forms), so a test can drive
// it with an HTTP client that keeps cookies.
//
// Configured by environment variables:
//   OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI   the one client
//   OIDC_ACCOUNTS      JSON: [{"login", "password", "email", "email_verified"?}]
//   OIDC_AUTH_METHOD   the client's token endpoint authentication, and the only
//                      one discovery lists (default client_secret_basic)
//   OIDC_ID_TOKEN_ALG  RS256 (default), ES256 or EdDSA
//   OIDC_EMAIL_IN_ID_TOKEN  1: the email claims go in the ID token; otherwise
//                      only the userinfo endpoint has them (the standard's default)
//
// Listens on a free loopback port and prints one line, `issuer <url>`, on
// standard output. Ends when standard input closes, so it never outlives
// the test that started it.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import http from 'node:http';

// The module is found beside this script unless the test names its entry
// file (ONEPANE_TEST_NODE_MODULES elsewhere).
const { default: Provider } = await import(process.env.OIDC_PROVIDER_MODULE ?? 'oidc-provider');

if (Number(process.versions.node.split('.')[0]) < 20) {
  process.stderr.write(`provider.mjs: Node.js 20 or newer is needed, this is ${process.version}\n`);
  process.exit(2);
}

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) {
    process.stderr.write(`provider.mjs: ${name} is not set\n`);
    process.exit(2);
  }
  return value;
};

const clientId = env('OIDC_CLIENT_ID');
const clientSecret = env('OIDC_CLIENT_SECRET');
const redirectUri = env('OIDC_REDIRECT_URI');
const accounts = JSON.parse(env('OIDC_ACCOUNTS'));
const authMethod = env('OIDC_AUTH_METHOD', 'client_secret_basic');
const idTokenAlg = env('OIDC_ID_TOKEN_ALG', 'RS256');
const emailInIdToken = env('OIDC_EMAIL_IN_ID_TOKEN', '0') === '1';

function signingKey(alg) {
  const [type, options] = {
    RS256: ['rsa', { modulusLength: 2048 }],
    ES256: ['ec', { namedCurve: 'P-256' }],
    EdDSA: ['ed25519', {}],
  }[alg] ?? [];
  if (!type) {
    process.stderr.write(`provider.mjs: unsupported OIDC_ID_TOKEN_ALG ${alg}\n`);
    process.exit(2);
  }
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg}-${randomBytes(4).toString('hex')}` };
}

const account = (login) => accounts.find((a) => a.login === login);

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, body) {
  res.statusCode = status;
  res.setHeader('content-type', 'text/html; charset=utf-8');
  res.setHeader('cache-control', 'no-store');
  res.end(`<!doctype html><html lang="en"><head><title>Sign in</title></head><body>${body}</body></html>`);
}

function loginForm(res, uid, status, error) {
  page(res, status, `<h1>Sign in to the test provider</h1>
${error ? `<p id="error">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label>Login <input name="login"></label>
<label>Password <input name="password" type="password"></label>
<button type="submit">Sign in</button>
</form>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10_000) throw new Error('the form is too large');
  }
  return new URLSearchParams(body);
}

let provider;

// The provider's own routes, and the sign-in form beside them.
async function interaction(req, res) {
  const url = new URL(req.url, provider.issuer);
  const match = url.pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
  if (!match) return false;
  const [, uid, submit] = match;
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    page(res, 400, '<p>This sign-in is not the one in progress.</p>');
    return true;
  }
  if (details.prompt.name !== 'login') {
    // The client is first-party: its grant is given without asking (see
    // loadExistingGrant), so only the login prompt is ever shown.
    page(res, 501, `<p>Unexpected prompt ${escape(details.prompt.name)}.</p>`);
    return true;
  }
  if (!submit) {
    loginForm(res, uid, 200);
    return true;
  }
  if (req.method !== 'POST') {
    page(res, 405, '<p>Post the form.</p>');
    return true;
  }
  const form = await readForm(req);
  const found = account(form.get('login'));
  if (!found || found.password !== form.get('password')) {
    loginForm(res, uid, 401, 'The login or password is wrong.');
    return true;
  }
  await provider.interactionFinished(req, res, { login: { accountId: found.login } }, { mergeWithLastSubmission: false });
  return true;
}

const server = http.createServer((req, res) => {
  interaction(req, res)
    .then((handled) => {
      if (!handled) provider.callback()(req, res);
    })
    .catch((e) => {
      process.stderr.write(`provider.mjs: ${e.stack ?? e}\n`);
      if (!res.headersSent) page(res, 500, `<p>${escape(e.message)}</p>`);
    });
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `http://127.0.0.1:${port}`;
  provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: authMethod,
      id_token_signed_response_alg: idTokenAlg,
    }],
    clientAuthMethods: [authMethod],
    jwks: { keys: [signingKey(idTokenAlg)] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'] },
    conformIdTokenClaims: !emailInIdToken,
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, i) => `/interaction/${i.uid}` },
    pkce: { required: () => true },
    async findAccount(ctx, id) {
      const found = account(id);
      if (!found) return undefined;
      return {
        accountId: id,
        async claims() {
          const claims = { sub: id, email: found.email };
          if (found.email_verified !== undefined) claims.email_verified = found.email_verified;
          return claims;
        },
      };
    },
    // A first-party client: the grant is given without a consent screen.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId
        || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope('openid email');
      grant.addOIDCClaims(['email', 'email_verified']);
      await grant.save();
      return grant;
    },
  });
  process.stdout.write(`issuer ${issuer}\n`);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
