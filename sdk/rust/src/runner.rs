//! Decoding the host's input, checking and encoding answers.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::types::{Decision, Effect, Item, Policy, Principal, Settings};

#[derive(Deserialize)]
struct Request {
    principal: Principal,
    items: Vec<Item>,
}

fn error_envelope(code: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({"error": {"code": code, "message": message}})).unwrap_or_default()
}

fn check_policy(p: &Policy) -> Result<(), &'static str> {
    if p.name.is_empty() || p.version.is_empty() {
        return Err("the policy needs a name and a version");
    }
    Ok(())
}

/// check returns why the host would reject d for it, if it would.
fn check(d: &mut Decision, it: &Item) -> Result<(), &'static str> {
    if d.effect == Effect::Conditional {
        if !it.permission.is_resource() {
            return Err("conditional needs a resource permission");
        }
        if d.plugin_id.is_empty() {
            return Err("conditional without pluginId");
        }
        if d.resource_type.is_empty() {
            d.resource_type = it.permission.resource_type.clone();
        }
        if d.resource_type != it.permission.resource_type {
            return Err("conditional for another resource type");
        }
        return match &d.conditions {
            None => Err("conditional without conditions"),
            Some(c) => c.check(&d.resource_type),
        };
    }
    if !d.plugin_id.is_empty() || !d.resource_type.is_empty() || d.conditions.is_some() {
        return Err("conditional fields on a non-conditional answer");
    }
    Ok(())
}

fn answer(it: &Item, d: &Decision) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), Value::String(it.id.clone()));
    m.insert("result".into(), Value::String(d.effect.as_str().into()));
    if d.effect == Effect::Conditional {
        m.insert("pluginId".into(), Value::String(d.plugin_id.clone()));
        m.insert("resourceType".into(), Value::String(d.resource_type.clone()));
        if let Some(c) = &d.conditions {
            m.insert("conditions".into(), c.to_value());
        }
    }
    if !d.reason.is_empty() {
        m.insert("reason".into(), Value::String(d.reason.clone()));
    }
    Value::Object(m)
}

/// evaluate runs verdict_evaluate: a request in, `{"items":[...]}` or an
/// error envelope out. Usable natively, for tests.
pub fn evaluate(p: &Policy, input: &[u8]) -> Vec<u8> {
    if let Err(e) = check_policy(p) {
        return error_envelope("no_policy", e);
    }
    let req: Request = match serde_json::from_slice(input) {
        Ok(r) => r,
        Err(e) => return error_envelope("bad_input", &e.to_string()),
    };
    let mut out = Vec::with_capacity(16 + req.items.len() * 64);
    out.extend_from_slice(b"{\"items\":[");
    for (i, it) in req.items.iter().enumerate() {
        let mut d = (p.decide)(&req.principal, it);
        if let Err(why) = check(&mut d, it) {
            crate::log::write(
                crate::log::WARN,
                &format!("verdict: invalid answer for {} became DENY: {}", it.permission.name, why),
            );
            d = Decision::deny().with_reason(why);
        }
        if i > 0 {
            out.push(b',');
        }
        if serde_json::to_writer(&mut out, &answer(it, &d)).is_err() {
            return error_envelope("encode", "cannot encode an answer");
        }
    }
    out.extend_from_slice(b"]}");
    out
}

/// describe runs verdict_describe; None (a failure for the host) for an
/// invalid policy or an empty claim.
pub fn describe(p: &Policy) -> Option<Vec<u8>> {
    check_policy(p).ok()?;
    let claims: Vec<String> = match p.claims_fn {
        Some(f) => f(),
        None => p.claims.iter().map(|c| c.to_string()).collect(),
    };
    if claims.iter().any(|c| c.is_empty()) {
        return None;
    }
    serde_json::to_vec(&json!({
        "abi": "1.0",
        "name": p.name,
        "version": p.version,
        "sdk": format!("rust/{}", crate::SDK_VERSION),
        "claims": claims,
    }))
    .ok()
}

/// configure runs verdict_configure: the settings envelope in, `{"ok":true}`
/// or an error envelope out.
pub fn configure(p: &Policy, input: &[u8]) -> Vec<u8> {
    if let Err(e) = check_policy(p) {
        return error_envelope("no_policy", e);
    }
    let s: Settings = match serde_json::from_slice(input) {
        Ok(s) => s,
        Err(e) => return error_envelope("bad_input", &e.to_string()),
    };
    let res = match p.configure {
        Some(f) => f(&s),
        None if s.settings.is_some() || !s.files.is_empty() => {
            Err(format!("policy {:?} takes no settings or files", p.name))
        }
        None => Ok(()),
    };
    match res {
        Ok(()) => b"{\"ok\":true}".to_vec(),
        Err(m) => error_envelope("invalid_settings", &m),
    }
}
