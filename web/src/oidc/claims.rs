//! From a verified ID token's claims to a farm user: the user name from `username_claim`, whether the provider's
//! rules let them in (a refusal says why, in a line the sign-in page shows), and their role.
//!
//! An email counts only when the provider says it is verified (`email_verified: true`): an unverified address is
//! never a user name and never satisfies a domain rule. Google's `hd` (its Workspace domain) satisfies a domain
//! rule by itself. Several allowed rules let in whoever satisfies any of them; no rule lets in every account of the
//! provider.

use super::config::Rules;
use distencode_actors::auth::{validate_user_name, Route, User, UserRole, Users};
use serde_json::{Map, Value};

/// A verified token's claims, as JSON.
pub type Claims = Map<String, Value>;

/// A claim's values: a string is one, a list of strings many, anything else none.
fn values<'a>(claims: &'a Claims, name: &str) -> Vec<&'a str> {
    match claims.get(name) {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn email_verified(claims: &Claims) -> bool {
    // Some providers send it as the string "true".
    matches!(claims.get("email_verified"), Some(Value::Bool(true)))
        || claims.get("email_verified") == Some(&"true".into())
}

/// The verified email, if there is one.
fn verified_email(claims: &Claims) -> Option<&str> {
    claims.get("email").and_then(Value::as_str).filter(|_| email_verified(claims))
}

fn domain_of(email: &str) -> Option<String> {
    email.rsplit_once('@').map(|(_, domain)| domain.to_lowercase())
}

/// The user the claims make under `rules`, or why they may not sign in.
pub fn user(claims: &Claims, rules: &Rules, users: &Users) -> Result<User, String> {
    let claim = rules.username_claim.as_str();
    let name = match claims.get(claim) {
        Some(Value::String(name)) if !name.is_empty() => name.clone(),
        _ => return Err(format!("the provider sent no {claim} claim, which is the user name here")),
    };
    if claim == "email" && !email_verified(claims) {
        return Err(format!(
            "your email address {name} is not verified by the provider, so it cannot be your user name"
        ));
    }
    if let Err(reason) = validate_user_name(&name) {
        return Err(format!("{name:?} cannot be a user name here: {reason}"));
    }
    allowed(claims, rules, &name)?;
    let admin_by_claim = rules
        .admin_claim
        .as_deref()
        .is_some_and(|admin| values(claims, admin).iter().any(|v| rules.admin_values.iter().any(|a| a == v)));
    let mut user = users.named(&name);
    user.route = Route::Web;
    if admin_by_claim {
        user.role = UserRole::Admin;
    }
    Ok(user)
}

fn allowed(claims: &Claims, rules: &Rules, name: &str) -> Result<(), String> {
    let has_rules =
        !rules.allowed_domains.is_empty() || !rules.allowed_users.is_empty() || rules.allowed_claim.is_some();
    if !has_rules {
        return Ok(());
    }
    if rules.allowed_users.iter().any(|u| u == name) {
        return Ok(());
    }
    if let Some(claim) = &rules.allowed_claim {
        if values(claims, claim).iter().any(|v| rules.allowed_values.iter().any(|a| a == v)) {
            return Ok(());
        }
    }
    if !rules.allowed_domains.is_empty() {
        let hd = claims.get("hd").and_then(Value::as_str).map(str::to_lowercase);
        let domain = verified_email(claims).and_then(domain_of);
        if [hd, domain].iter().flatten().any(|d| rules.allowed_domains.contains(d)) {
            return Ok(());
        }
        let domains = rules.allowed_domains.join(", ");
        if let Some(email) = claims.get("email").and_then(Value::as_str).filter(|_| !email_verified(claims)) {
            return Err(format!(
                "your email address {email} is not verified by the provider, so it does not show that you belong \
                 to {domains}"
            ));
        }
        return Err(format!("{name} is not in an allowed domain ({domains})"));
    }
    Err(format!("{name} is not among the users this farm lets sign in"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(value: Value) -> Claims {
        value.as_object().unwrap().clone()
    }

    fn rules() -> Rules {
        Rules {
            username_claim: "email".into(),
            admin_claim: Some("groups".into()),
            admin_values: vec!["farm-admins".into()],
            allowed_domains: vec!["example.edu".into()],
            ..Rules::default()
        }
    }

    #[test]
    fn a_verified_member_of_the_domain_signs_in_and_the_admin_group_makes_an_admin() {
        let users = Users { admins: ["carol@example.edu".to_string()].into(), ..Users::default() };
        let admin = claims(json!({"email": "alice@example.edu", "email_verified": true, "groups": ["farm-admins"]}));
        assert_eq!(
            user(&admin, &rules(), &users).unwrap(),
            User { name: "alice@example.edu".into(), role: UserRole::Admin, route: Route::Web }
        );
        let plain = claims(json!({"email": "bob@Example.EDU", "email_verified": true, "groups": "students"}));
        assert_eq!(user(&plain, &rules(), &users).unwrap().role, UserRole::User);
        let listed = claims(json!({"email": "carol@example.edu", "email_verified": true}));
        assert_eq!(user(&listed, &rules(), &users).unwrap().role, UserRole::Admin, "the admins list counts too");
    }

    #[test]
    fn an_unverified_email_or_another_domain_is_refused_with_the_reason() {
        let users = Users::default();
        let unverified = claims(json!({"email": "eve@example.edu", "email_verified": false}));
        assert_eq!(
            user(&unverified, &rules(), &users).unwrap_err(),
            "your email address eve@example.edu is not verified by the provider, so it cannot be your user name"
        );
        let by_name = Rules { username_claim: "preferred_username".into(), ..rules() };
        let unverified = claims(json!({"preferred_username": "eve", "email": "eve@example.edu"}));
        assert_eq!(
            user(&unverified, &by_name, &users).unwrap_err(),
            "your email address eve@example.edu is not verified by the provider, so it does not show that you \
             belong to example.edu"
        );
        let outside = claims(json!({"email": "mallory@elsewhere.org", "email_verified": true}));
        assert_eq!(
            user(&outside, &rules(), &users).unwrap_err(),
            "mallory@elsewhere.org is not in an allowed domain (example.edu)"
        );
        let workspace = claims(json!({"preferred_username": "dan", "hd": "example.edu"}));
        assert_eq!(user(&workspace, &by_name, &users).unwrap().name, "dan", "Google's hd satisfies the domain rule");
    }

    #[test]
    fn user_and_claim_rules_let_in_whoever_satisfies_one_and_a_missing_claim_is_named() {
        let users = Users::default();
        let rules = Rules {
            username_claim: "sub".into(),
            allowed_users: vec!["u1".into()],
            allowed_claim: Some("groups".into()),
            allowed_values: vec!["render".into()],
            ..Rules::default()
        };
        assert!(user(&claims(json!({"sub": "u1"})), &rules, &users).is_ok());
        assert!(user(&claims(json!({"sub": "u2", "groups": ["render"]})), &rules, &users).is_ok());
        assert_eq!(
            user(&claims(json!({"sub": "u3"})), &rules, &users).unwrap_err(),
            "u3 is not among the users this farm lets sign in"
        );
        assert_eq!(
            user(&claims(json!({"email": "x@y"})), &rules, &users).unwrap_err(),
            "the provider sent no sub claim, which is the user name here"
        );
        let open = Rules { username_claim: "sub".into(), ..Rules::default() };
        assert!(user(&claims(json!({"sub": "anyone"})), &open, &users).is_ok(), "no rule: every account");
        assert!(user(&claims(json!({"sub": "a b"})), &open, &users).unwrap_err().contains("cannot be a user name"));
    }
}
