//! The `[[oidc]]` tables of the coordinator's settings: one per identity provider, as the file holds it
//! ([`ProviderConfig`], unknown keys refused) and checked ([`ProviderSettings`]: the secret read, the addresses
//! parsed). The client secret is never a key of the file: it comes from `client_secret_file` or the environment
//! variable `DISTENCODE_OIDC_SECRET_<NAME>` (the name in capitals, `-` as `_`).

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Providers at most: each is a button on the sign-in page.
pub const MAX_PROVIDERS: usize = 16;
/// Entries of each list of names, domains or values at most.
pub const MAX_RULE_ENTRIES: usize = 10_000;
/// Bytes of a client secret file at most.
pub const MAX_SECRET_BYTES: u64 = 4096;
/// The prefix of the variable that may hold a provider's client secret.
pub const SECRET_VARIABLE_PREFIX: &str = "DISTENCODE_OIDC_SECRET_";

/// One `[[oidc]]` table, as written.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    /// Shown on the sign-in page's button; `/auth/login?provider=NAME`.
    pub name: String,
    /// The provider's issuer URL; its discovery document is at `ISSUER/.well-known/openid-configuration`.
    pub issuer: String,
    /// This farm's client id at the provider.
    pub client_id: String,
    /// A file holding the client secret (its first line); else `DISTENCODE_OIDC_SECRET_<NAME>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_file: Option<PathBuf>,
    /// The address the provider sends the browser back to (register exactly this one); its path is the callback.
    pub redirect_url: String,
    /// The claim that is the user name: `email`, `preferred_username`, `sub` or another string claim.
    #[serde(default = "default_username_claim")]
    pub username_claim: String,
    /// A claim (string or list of strings) that makes an admin when it holds one of `admin_values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_claim: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admin_values: Vec<String>,
    /// Email domains that may sign in (the verified email's domain, or Google's `hd`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_domains: Vec<String>,
    /// User names that may sign in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_users: Vec<String>,
    /// A claim (string or list of strings) that lets a user sign in when it holds one of `allowed_values`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_claim: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_values: Vec<String>,
    /// A CA certificate file (PEM) trusted for this provider besides the system's roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<PathBuf>,
}

fn default_username_claim() -> String {
    "email".into()
}

/// A provider's settings, checked: what the web interface signs in with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderSettings {
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    /// The client secret, read from its file or variable.
    pub client_secret: String,
    pub redirect_url: String,
    /// The path of `redirect_url`: the callback's route.
    pub callback_path: String,
    pub rules: Rules,
    pub ca_file: Option<PathBuf>,
}

/// Who a provider lets in and who is an admin, from its claims.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rules {
    pub username_claim: String,
    pub admin_claim: Option<String>,
    pub admin_values: Vec<String>,
    /// Lower-case domains.
    pub allowed_domains: Vec<String>,
    pub allowed_users: Vec<String>,
    pub allowed_claim: Option<String>,
    pub allowed_values: Vec<String>,
}

/// The variable that may hold `name`'s client secret.
pub fn secret_variable(name: &str) -> String {
    format!("{SECRET_VARIABLE_PREFIX}{}", name.to_uppercase().replace('-', "_"))
}

/// Checks every provider; `variable` reads the environment (a parameter, so tests need not set it). An error is one
/// line naming the provider and the key.
pub fn check(
    providers: &[ProviderConfig],
    variable: impl Fn(&str) -> Option<String>,
) -> Result<Vec<ProviderSettings>, String> {
    if providers.len() > MAX_PROVIDERS {
        return Err(format!("{} providers, more than {MAX_PROVIDERS}", providers.len()));
    }
    let mut checked: Vec<ProviderSettings> = Vec::new();
    for provider in providers {
        let one = check_one(provider, &variable).map_err(|e| format!("provider {:?}: {e}", provider.name))?;
        if checked.iter().any(|p| p.name == one.name) {
            return Err(format!("provider {:?}: the name is given twice", one.name));
        }
        checked.push(one);
    }
    Ok(checked)
}

fn check_one(p: &ProviderConfig, variable: &impl Fn(&str) -> Option<String>) -> Result<ProviderSettings, String> {
    let name_ok = !p.name.is_empty()
        && p.name.len() <= 32
        && p.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !name_ok {
        return Err("name: use 1 to 32 of A-Z a-z 0-9 - _".into());
    }
    let issuer =
        openidconnect::url::Url::parse(&p.issuer).map_err(|e| format!("issuer: {:?} is not a URL: {e}", p.issuer))?;
    check_scheme("issuer", &issuer)?;
    let redirect = openidconnect::url::Url::parse(&p.redirect_url)
        .map_err(|e| format!("redirect_url: {:?} is not a URL: {e}", p.redirect_url))?;
    if redirect.scheme() != "https" {
        return Err(format!(
            "redirect_url: {:?} must be https:// (the web interface serves only HTTPS)",
            p.redirect_url
        ));
    }
    let callback_path = redirect.path().to_string();
    if callback_path == "/" || !callback_path.starts_with("/auth/") {
        return Err(format!(
            "redirect_url: its path must lie under /auth/ (e.g. /auth/callback), not {callback_path:?}"
        ));
    }
    if matches!(callback_path.as_str(), "/auth/login" | "/auth/logout") {
        return Err(format!("redirect_url: {callback_path} is taken; use e.g. /auth/callback"));
    }
    if p.client_id.is_empty() {
        return Err("client_id: empty".into());
    }
    if p.username_claim.is_empty() {
        return Err("username_claim: empty".into());
    }
    for (key, list) in [
        ("admin_values", &p.admin_values),
        ("allowed_domains", &p.allowed_domains),
        ("allowed_users", &p.allowed_users),
        ("allowed_values", &p.allowed_values),
    ] {
        if list.len() > MAX_RULE_ENTRIES {
            return Err(format!("{key}: {} entries, more than {MAX_RULE_ENTRIES}", list.len()));
        }
    }
    if p.admin_claim.is_some() == p.admin_values.is_empty() {
        return Err("admin_claim and admin_values go together: give both or neither".into());
    }
    if p.allowed_claim.is_some() == p.allowed_values.is_empty() {
        return Err("allowed_claim and allowed_values go together: give both or neither".into());
    }
    let variable_name = secret_variable(&p.name);
    let client_secret = match (&p.client_secret_file, variable(&variable_name)) {
        (Some(file), _) => read_secret(file)?,
        (None, Some(secret)) if !secret.trim().is_empty() => secret.trim().to_string(),
        (None, _) => {
            return Err(format!(
                "no client secret: set client_secret_file, or the environment variable {variable_name} (never a \
                 key of the file)"
            ))
        }
    };
    Ok(ProviderSettings {
        name: p.name.clone(),
        issuer: p.issuer.trim_end_matches('/').to_string(),
        client_id: p.client_id.clone(),
        client_secret,
        redirect_url: p.redirect_url.clone(),
        callback_path,
        rules: Rules {
            username_claim: p.username_claim.clone(),
            admin_claim: p.admin_claim.clone(),
            admin_values: p.admin_values.clone(),
            allowed_domains: p.allowed_domains.iter().map(|d| d.trim_start_matches('@').to_lowercase()).collect(),
            allowed_users: p.allowed_users.clone(),
            allowed_claim: p.allowed_claim.clone(),
            allowed_values: p.allowed_values.clone(),
        },
        ca_file: p.ca_file.clone(),
    })
}

/// `https://` always; `http://` only to a loopback address (a test's provider on 127.0.0.1).
fn check_scheme(key: &str, url: &openidconnect::url::Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!("{key}: {url} must be https:// (plain http only to a loopback address, for tests)")),
        other => Err(format!("{key}: {url}: the scheme {other} is not https")),
    }
}

fn is_loopback(url: &openidconnect::url::Url) -> bool {
    match url.host() {
        Some(openidconnect::url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(openidconnect::url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(openidconnect::url::Host::Domain(name)) => name == "localhost",
        None => false,
    }
}

fn read_secret(file: &std::path::Path) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("client_secret_file: cannot read {}: {e}", file.display());
    let size = std::fs::metadata(file).map_err(cannot)?.len();
    if size > MAX_SECRET_BYTES {
        return Err(format!("client_secret_file: {} is larger than {MAX_SECRET_BYTES} bytes", file.display()));
    }
    let text = std::fs::read_to_string(file).map_err(cannot)?;
    let secret = text.lines().next().unwrap_or("").trim().to_string();
    if secret.is_empty() {
        return Err(format!("client_secret_file: {} is empty", file.display()));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> ProviderConfig {
        ProviderConfig {
            name: "university".into(),
            issuer: "https://id.example.edu".into(),
            client_id: "distencode".into(),
            redirect_url: "https://farm.example.edu:8443/auth/callback".into(),
            username_claim: "email".into(),
            ..ProviderConfig::default()
        }
    }

    fn no_variable(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_secret_comes_from_its_file_or_its_variable_and_nowhere_else() {
        let error = check(&[provider()], no_variable).unwrap_err();
        assert_eq!(
            error,
            "provider \"university\": no client secret: set client_secret_file, or the environment variable \
             DISTENCODE_OIDC_SECRET_UNIVERSITY (never a key of the file)"
        );
        let from_variable =
            check(&[provider()], |name| (name == "DISTENCODE_OIDC_SECRET_UNIVERSITY").then(|| "s3cret\n".into()))
                .unwrap();
        assert_eq!(from_variable[0].client_secret, "s3cret");
        assert_eq!(from_variable[0].callback_path, "/auth/callback");

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret");
        std::fs::write(&file, "from-file\n").unwrap();
        let with_file = ProviderConfig { client_secret_file: Some(file), ..provider() };
        assert_eq!(check(&[with_file], no_variable).unwrap()[0].client_secret, "from-file");

        let table: Result<ProviderConfig, _> = toml::from_str(
            "name = \"u\"\nissuer = \"https://i\"\nclient_id = \"c\"\nredirect_url = \"https://f/auth/cb\"\n\
             client_secret = \"inline\"\n",
        );
        let refused = table.unwrap_err().to_string();
        assert!(refused.contains("unknown field `client_secret`"), "{refused}");
    }

    #[test]
    fn plain_http_issuers_are_for_loopback_only_and_the_callback_lies_under_auth() {
        let secret = |_: &str| Some("s".to_string());
        let local = ProviderConfig { issuer: "http://127.0.0.1:4000".into(), ..provider() };
        assert!(check(&[local], secret).is_ok());
        let remote = ProviderConfig { issuer: "http://id.example.edu".into(), ..provider() };
        assert_eq!(
            check(&[remote], secret).unwrap_err(),
            "provider \"university\": issuer: http://id.example.edu/ must be https:// (plain http only to a \
             loopback address, for tests)"
        );
        let root = ProviderConfig { redirect_url: "https://farm/".into(), ..provider() };
        assert!(check(&[root], secret).unwrap_err().contains("must lie under /auth/"));
        let twice = check(&[provider(), provider()], secret).unwrap_err();
        assert_eq!(twice, "provider \"university\": the name is given twice");
        let half = ProviderConfig { admin_claim: Some("groups".into()), ..provider() };
        assert!(check(&[half], secret).unwrap_err().contains("admin_claim and admin_values go together"));
    }
}
