// A real OpenID Connect provider (the OpenID-certified `oidc-provider`) for distencode's sign-in tests, on
// 127.0.0.1 only. Usage: node server.js PORT REDIRECT_URL [CERT_PEM KEY_PEM]
//   PORT          the port to listen on (0: any free one); the first line printed is `listening PORT`.
//   REDIRECT_URL  the one redirect URL the client `distencode` (secret `test-secret`) is registered with.
//   CERT_PEM KEY_PEM  serve HTTPS with this certificate (for 127.0.0.1) and key: the issuer is then https://.
// Its login form is the package's own development form (any password); the accounts are preset:
//   alice   alice@example.edu, verified, in group farm-admins   (an admin)
//   bob     bob@example.edu, verified                           (a plain user)
//   mallory mallory@elsewhere.org, verified                     (outside the allowed domain)
//   eve     eve@example.edu, NOT verified                       (an unverified email)
// A second client, `other-client` (secret `other-secret`), has the same redirect URL: a code issued to it is one
// for another audience.
// A test's hook: `POST /test/rotate-key` makes a new signing key (a new key id) and drops the old one, as a provider
// rotating its keys does; it answers the new key id. Nothing else of the provider's changes.
import Provider from 'oidc-provider';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttp } from 'node:http';
import { createServer as createHttps } from 'node:https';

const [portArg, redirect, certFile, keyFile] = process.argv.slice(2);
if (!portArg || !redirect) {
  console.error('usage: node server.js PORT REDIRECT_URL [CERT_PEM KEY_PEM]');
  process.exit(2);
}

const accounts = {
  alice: { email: 'alice@example.edu', email_verified: true, preferred_username: 'alice', groups: ['farm-admins'] },
  bob: { email: 'bob@example.edu', email_verified: true, preferred_username: 'bob', groups: ['students'] },
  mallory: { email: 'mallory@elsewhere.org', email_verified: true, preferred_username: 'mallory', groups: [] },
  eve: { email: 'eve@example.edu', email_verified: false, preferred_username: 'eve', groups: [] },
};

const client = (id, secret) => ({
  client_id: id,
  client_secret: secret,
  redirect_uris: [redirect],
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
});

// A new RSA signing key with a key id of its own.
function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig' };
}

// The provider for `issuer`, signing with `key`.
function provider(issuer, key) {
  const made = new Provider(issuer, {
    clients: [client('distencode', 'test-secret'), client('other-client', 'other-secret')],
    jwks: { keys: [key] },
    async findAccount(ctx, id) {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...account }; } };
    },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'groups'],
    },
    // Every claim granted goes into the ID token (distencode reads only the ID token).
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    cookies: { keys: ['distencode-test-only'] },
    features: { devInteractions: { enabled: true } },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
  });
  made.proxy = false;
  return made;
}

function start(port) {
  // The issuer is only known once the port is: bind first, then make the provider for that address.
  return new Promise((resolve) => {
    let current;
    let issuer;
    const handle = (req, res) => {
      if (req.method === 'POST' && req.url === '/test/rotate-key') {
        const key = signingKey();
        current = provider(issuer, key);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ kid: key.kid }));
        return;
      }
      current.callback()(req, res);
    };
    const tls = certFile && keyFile;
    const server = tls
      ? createHttps({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, handle)
      : createHttp(handle);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address();
      issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${bound}`;
      current = provider(issuer, signingKey());
      resolve(bound);
    });
  });
}

const bound = await start(Number(portArg));
console.log(`listening ${bound}`);
