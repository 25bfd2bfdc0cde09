//! One identity provider at run time: its discovery document (fetched at start, and again at the next sign-in while
//! the provider could not be reached: the coordinator starts anyway), its keys (fetched again once when a token names
//! a key id they lack), the authorization request and the code exchange with the ID token's verification.

use super::claims::Claims;
use super::config::ProviderSettings;
use super::http::Http;
use base64::Engine;
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenVerifier, CoreJsonWebKeySet, CoreJwsSigningAlgorithm,
    CoreProviderMetadata,
};
use openidconnect::{
    AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, SignatureVerificationError,
    TokenResponse,
};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long after a failed discovery the next sign-in tries again (so a down provider is not asked on every click).
pub const DISCOVERY_RETRY: Duration = Duration::from_secs(5);
/// The signature algorithms an ID token may use: the provider's keys, never the client secret (HMAC), whose
/// verification in the crate panics on a signature of the wrong length.
pub const ALLOWED_ALGS: [CoreJwsSigningAlgorithm; 9] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::RsaSsaPssSha512,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];
/// Bytes of an ID token at most (its payload is read after verification).
pub const MAX_ID_TOKEN_BYTES: usize = 64 * 1024;

type Client =
    CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// What discovery found.
#[derive(Clone, Debug)]
struct Discovered {
    metadata: CoreProviderMetadata,
    /// RFC 9207: the provider puts `iss` in every authorization response, so a callback without it is refused.
    iss_parameter_supported: bool,
}

/// A provider, its settings and what was discovered of it.
#[derive(Debug)]
pub struct Provider {
    pub settings: ProviderSettings,
    http: Http,
    discovered: Mutex<Option<Discovered>>,
    /// When discovery last failed, and why.
    failed: Mutex<Option<(Instant, String)>>,
}

/// A sign-in started: where to send the browser, and what the callback must match.
pub struct Started {
    pub authorize_url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl Provider {
    pub fn new(settings: ProviderSettings) -> Result<Self, crate::WebError> {
        let http = Http::new(settings.ca_file.as_deref())?;
        Ok(Provider { settings, http, discovered: Mutex::new(None), failed: Mutex::new(None) })
    }

    /// Discovery now, logging the outcome (at start).
    pub async fn discover_logged(&self) {
        match self.discovered().await {
            Ok(_) => {
                tracing::info!(provider = %self.settings.name, issuer = %self.settings.issuer, "identity provider found")
            }
            Err(e) => tracing::warn!(provider = %self.settings.name, "identity provider not reachable yet: {e}"),
        }
    }

    /// Whether sign-in with this provider can start: it was found, or is found now (asked again at most every
    /// [`DISCOVERY_RETRY`]); else why not, for the sign-in page.
    pub async fn available(&self) -> Result<(), String> {
        self.discovered().await.map(|_| ())
    }

    async fn discovered(&self) -> Result<Discovered, String> {
        if let Some(found) = self.discovered.lock().map_err(|_| "poisoned")?.clone() {
            return Ok(found);
        }
        let recent = self
            .failed
            .lock()
            .map_err(|_| "poisoned")?
            .as_ref()
            .filter(|(at, _)| at.elapsed() < DISCOVERY_RETRY)
            .map(|(_, why)| why.clone());
        if let Some(why) = recent {
            return Err(format!("{why} (asked again in a few seconds)"));
        }
        match self.discover().await {
            Ok(found) => {
                *self.discovered.lock().map_err(|_| "poisoned")? = Some(found.clone());
                *self.failed.lock().map_err(|_| "poisoned")? = None;
                Ok(found)
            }
            Err(e) => {
                *self.failed.lock().map_err(|_| "poisoned")? = Some((Instant::now(), e.clone()));
                Err(e)
            }
        }
    }

    async fn discover(&self) -> Result<Discovered, String> {
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer);
        let document = self.http.get_json(&url).await?;
        let iss_parameter_supported =
            document.get("authorization_response_iss_parameter_supported").and_then(|v| v.as_bool()) == Some(true);
        let metadata: CoreProviderMetadata =
            serde_json::from_value(document).map_err(|e| format!("{url} is not a discovery document: {e}"))?;
        if metadata.issuer().as_str().trim_end_matches('/') != self.settings.issuer {
            return Err(format!(
                "{url} names the issuer {}, not {}: refused (OpenID Connect Discovery 4.3)",
                metadata.issuer().as_str(),
                self.settings.issuer
            ));
        }
        let keys = self.keys(&metadata).await?;
        Ok(Discovered { metadata: metadata.set_jwks(keys), iss_parameter_supported })
    }

    async fn keys(&self, metadata: &CoreProviderMetadata) -> Result<CoreJsonWebKeySet, String> {
        CoreJsonWebKeySet::fetch_async(metadata.jwks_uri(), &self.http)
            .await
            .map_err(|e| format!("the provider's keys ({}): {e}", metadata.jwks_uri().url()))
    }

    fn client(&self, found: &Discovered) -> Result<Client, String> {
        let redirect = RedirectUrl::new(self.settings.redirect_url.clone()).map_err(|e| e.to_string())?;
        Ok(CoreClient::from_provider_metadata(
            found.metadata.clone(),
            ClientId::new(self.settings.client_id.clone()),
            Some(ClientSecret::new(self.settings.client_secret.clone())),
        )
        .set_redirect_uri(redirect))
    }

    /// A new authorization request: PKCE S256, a random state and nonce, the scopes the rules need.
    pub async fn start(&self) -> Result<Started, String> {
        let found = self.discovered().await?;
        let client = self.client(&found)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("email".into()))
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Ok(Started {
            authorize_url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// Whether a callback's `iss` is acceptable (RFC 9207): it must be this issuer when given, and must be given
    /// when the provider says it always sends it.
    pub async fn check_iss(&self, iss: Option<&str>) -> Result<(), String> {
        let found = self.discovered().await?;
        match iss {
            Some(iss) if iss.trim_end_matches('/') == self.settings.issuer => Ok(()),
            Some(iss) => Err(format!(
                "the answer names the issuer {iss}, not {} that this sign-in was sent to: refused",
                self.settings.issuer
            )),
            None if found.iss_parameter_supported => {
                Err("the answer carries no iss, which this provider always sends: refused".into())
            }
            None => Ok(()),
        }
    }

    /// Exchanges `code` (with the PKCE verifier) for tokens and verifies the ID token against `nonce`; its claims.
    pub async fn finish(&self, code: String, pkce_verifier: String, nonce: &str) -> Result<Claims, String> {
        let found = self.discovered().await?;
        let client = self.client(&found)?;
        let response = client
            .exchange_code(AuthorizationCode::new(code))
            .map_err(|e| format!("the provider has no token endpoint: {e}"))?
            .set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier))
            .request_async(&self.http)
            .await
            .map_err(|e| format!("the provider refused the code: {}", token_error(&e)))?;
        let id_token = response.id_token().ok_or("the provider sent no ID token")?;
        let nonce = Nonce::new(nonce.to_string());
        match verify(id_token, &verifier(&client), &nonce) {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                // The provider may have rotated its keys since they were fetched: fetch them again, once.
                let keys = self.keys(&found.metadata).await?;
                let refreshed = Discovered { metadata: found.metadata.clone().set_jwks(keys), ..found };
                *self.discovered.lock().map_err(|_| "poisoned")? = Some(refreshed.clone());
                let client = self.client(&refreshed)?;
                verify(id_token, &verifier(&client), &nonce).map_err(|e| refused(&e))?;
            }
            Err(e) => return Err(refused(&e)),
            Ok(()) => {}
        }
        payload(&id_token.to_string())
    }
}

/// The client's verifier (its issuer, its id as the audience, the provider's keys), for [`ALLOWED_ALGS`] only.
fn verifier(client: &Client) -> CoreIdTokenVerifier<'_> {
    client.id_token_verifier().set_allowed_algs(ALLOWED_ALGS)
}

/// Verifies the ID token's signature, issuer, audience, expiry and nonce.
pub fn verify(
    token: &openidconnect::core::CoreIdToken,
    verifier: &CoreIdTokenVerifier<'_>,
    nonce: &Nonce,
) -> Result<(), ClaimsVerificationError> {
    token.claims(verifier, nonce).map(|_| ())
}

fn refused(e: &ClaimsVerificationError) -> String {
    format!("the ID token was refused: {e}")
}

fn token_error<E: std::error::Error>(
    e: &openidconnect::RequestTokenError<
        E,
        openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    >,
) -> String {
    match e {
        openidconnect::RequestTokenError::ServerResponse(answer) => {
            let description = answer.error_description().map(|d| format!(" ({d})")).unwrap_or_default();
            format!("{}{description}", answer.error())
        }
        other => other.to_string(),
    }
}

/// The claims of a compact JWT whose signature and claims were verified already.
pub fn payload(jwt: &str) -> Result<Claims, String> {
    if jwt.len() > MAX_ID_TOKEN_BYTES {
        return Err(format!("the ID token is larger than {MAX_ID_TOKEN_BYTES} bytes"));
    }
    let middle = jwt.split('.').nth(1).ok_or("the ID token is not a JWT")?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(middle.trim_end_matches('='))
        .map_err(|e| format!("the ID token's payload: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("the ID token's payload: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openidconnect::core::{CoreHmacKey, CoreIdToken, CoreIdTokenClaims};
    use openidconnect::{Audience, EmptyAdditionalClaims, IssuerUrl, StandardClaims, SubjectIdentifier};

    const SECRET: &str = "a-shared-secret-of-the-client-and-the-provider";

    fn token(issuer: &str, audience: &str, nonce: &str, expires_in: i64) -> CoreIdToken {
        let now = chrono::Utc::now();
        let claims = CoreIdTokenClaims::new(
            IssuerUrl::new(issuer.into()).unwrap(),
            vec![Audience::new(audience.into())],
            now + chrono::Duration::seconds(expires_in),
            now - chrono::Duration::seconds(5),
            StandardClaims::new(SubjectIdentifier::new("alice".into())),
            EmptyAdditionalClaims {},
        )
        .set_nonce(Some(Nonce::new(nonce.into())));
        let key = CoreHmacKey::new(SECRET.as_bytes());
        CoreIdToken::new(claims, &key, CoreJwsSigningAlgorithm::HmacSha256, None, None).unwrap()
    }

    fn verifier() -> CoreIdTokenVerifier<'static> {
        CoreIdTokenVerifier::new_confidential_client(
            ClientId::new("distencode".into()),
            ClientSecret::new(SECRET.into()),
            IssuerUrl::new("https://id.example.edu".into()).unwrap(),
            CoreJsonWebKeySet::new(Vec::new()),
        )
        .set_allowed_algs([CoreJwsSigningAlgorithm::HmacSha256])
    }

    #[test]
    fn an_id_token_of_another_issuer_audience_nonce_or_time_is_refused() {
        let nonce = Nonce::new("n-1".into());
        let good = token("https://id.example.edu", "distencode", "n-1", 300);
        assert!(verify(&good, &verifier(), &nonce).is_ok());
        assert_eq!(payload(&good.to_string()).unwrap()["sub"], "alice");
        let cases = [
            (token("https://evil.example", "distencode", "n-1", 300), "issuer"),
            (token("https://id.example.edu", "another-client", "n-1", 300), "audience"),
            (token("https://id.example.edu", "distencode", "n-2", 300), "nonce"),
            (token("https://id.example.edu", "distencode", "n-1", -120), "expired"),
        ];
        for (bad, what) in cases {
            let error = verify(&bad, &verifier(), &nonce).unwrap_err();
            assert!(refused(&error).to_lowercase().contains(what), "{what}: {error}");
        }
        // Another payload under the good token's signature.
        let other = token("https://id.example.edu", "distencode", "n-1", 600).to_string();
        let good_text = good.to_string();
        let parts: Vec<&str> = good_text.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], other.split('.').nth(1).unwrap(), parts[2]);
        let forged: CoreIdToken = forged.parse().unwrap();
        let error = verify(&forged, &verifier(), &nonce).unwrap_err();
        assert!(matches!(error, ClaimsVerificationError::SignatureVerification(_)), "{error}");
    }
}
