// A real OpenID Connect provider (the OpenID-certified `oidc-provider`) for distencode's sign-in tests, on
// 127.0.0.1 only. Usage: node server.js PORT REDIRECT_URL [PORT2]
//   PORT          the port to listen on (0: any free one); the first line printed is `listening PORT`.
//   REDIRECT_URL  the one redirect URL the client `distencode` (secret `test-secret`) is registered with.
// Its login form is the package's own development form (any password); the accounts are preset:
//   alice   alice@example.edu, verified, in group farm-admins   (an admin)
//   bob     bob@example.edu, verified                           (a plain user)
//   mallory mallory@elsewhere.org, verified                     (outside the allowed domain)
//   eve     eve@example.edu, NOT verified                       (an unverified email)
// A second client, `other-client` (secret `other-secret`), has the same redirect URL: a code issued to it is one
// for another audience.
import Provider from 'oidc-provider';

const [portArg, redirect] = process.argv.slice(2);
if (!portArg || !redirect) {
  console.error('usage: node server.js PORT REDIRECT_URL');
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

function start(port) {
  // The issuer is only known once the port is: bind first, then make the provider for that address.
  return new Promise((resolve) => {
    import('node:http').then(({ createServer }) => {
      let provider;
      const server = createServer((req, res) => provider.callback()(req, res));
      server.listen(port, '127.0.0.1', () => {
        const { port: bound } = server.address();
        provider = new Provider(`http://127.0.0.1:${bound}`, {
          clients: [client('distencode', 'test-secret'), client('other-client', 'other-secret')],
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
        provider.proxy = false;
        resolve(bound);
      });
    });
  });
}

const bound = await start(Number(portArg));
console.log(`listening ${bound}`);
