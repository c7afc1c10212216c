//! The policy model: principal, item, decision, settings, policy.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::criteria::Criteria;

/// nullable reads a string that may be null (then empty), as encoding/json does.
fn nullable<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// Principal is who asks: `kind` is "user", "service" or "none". Absent
/// strings are empty.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub user_entity_ref: String,
    #[serde(default, deserialize_with = "nullable_vec")]
    pub ownership_entity_refs: Vec<String>,
    #[serde(default)]
    pub actor: Option<Actor>,
    #[serde(default, deserialize_with = "nullable")]
    pub subject: String,
}

fn nullable_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// Actor is a service acting on behalf of a user.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Actor {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub subject: String,
}

/// Attributes of a permission: action is "create", "read", "update",
/// "delete" or empty.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Attributes {
    #[serde(default, deserialize_with = "nullable")]
    pub action: String,
}

/// Permission is what is asked: `kind` is "basic" or "resource";
/// resource_type is set exactly for resource permissions.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    pub kind: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable_attrs")]
    pub attributes: Attributes,
    #[serde(default, deserialize_with = "nullable")]
    pub resource_type: String,
}

fn nullable_attrs<'de, D: Deserializer<'de>>(d: D) -> Result<Attributes, D::Error> {
    Ok(Option::<Attributes>::deserialize(d)?.unwrap_or_default())
}

impl Permission {
    /// is_resource reports whether this is a resource permission.
    pub fn is_resource(&self) -> bool {
        self.kind == "resource"
    }
}

/// Item is one question of a batch. resource_ref is None when absent
/// (Some("") when present and empty).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default)]
    pub permission: Permission,
    #[serde(default)]
    pub resource_ref: Option<String>,
}

/// Effect is a decision's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
    Conditional,
    /// No opinion: other modules or the configured default decide.
    Abstain,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Allow => "ALLOW",
            Effect::Deny => "DENY",
            Effect::Conditional => "CONDITIONAL",
            Effect::Abstain => "ABSTAIN",
        }
    }
}

/// Decision is the answer to one item. plugin_id, resource_type and
/// conditions belong to CONDITIONAL only; an empty resource_type on a
/// CONDITIONAL is filled with the item's; an empty reason is none.
#[derive(Debug, Clone)]
pub struct Decision {
    pub effect: Effect,
    pub plugin_id: String,
    pub resource_type: String,
    pub conditions: Option<Criteria>,
    pub reason: String,
}

impl Decision {
    fn of(effect: Effect) -> Decision {
        Decision { effect, plugin_id: String::new(), resource_type: String::new(), conditions: None, reason: String::new() }
    }
    /// allow answers ALLOW.
    pub fn allow() -> Decision {
        Decision::of(Effect::Allow)
    }
    /// deny answers DENY.
    pub fn deny() -> Decision {
        Decision::of(Effect::Deny)
    }
    /// abstain answers ABSTAIN.
    pub fn abstain() -> Decision {
        Decision::of(Effect::Abstain)
    }
    /// conditional answers CONDITIONAL: plugin_id must apply the criteria.
    pub fn conditional(plugin_id: &str, conditions: Criteria) -> Decision {
        let mut d = Decision::of(Effect::Conditional);
        d.plugin_id = plugin_id.to_string();
        d.conditions = Some(conditions);
        d
    }
    /// with_reason sets the reason.
    pub fn with_reason(mut self, reason: impl Into<String>) -> Decision {
        self.reason = reason.into();
        self
    }
}

/// Settings is what `configure` gets: the settings file as JSON (None when
/// there is none) and the text files of NAME.d/.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct Settings {
    #[serde(default)]
    pub settings: Option<Value>,
    #[serde(default)]
    pub files: BTreeMap<String, String>,
}

/// Policy describes a module: name, version, claims (patterns over
/// permission names), the decide function, and optionally configure (runs
/// once at load; Err refuses the module with that message; without it any
/// settings or files are refused) and claims_fn (claims that depend on
/// settings, read after configure).
#[derive(Clone, Copy)]
pub struct Policy {
    pub name: &'static str,
    pub version: &'static str,
    pub claims: &'static [&'static str],
    pub decide: fn(&Principal, &Item) -> Decision,
    pub configure: Option<fn(&Settings) -> Result<(), String>>,
    pub claims_fn: Option<fn() -> Vec<String>>,
}

impl Policy {
    /// new makes a policy of one function, with no settings.
    pub const fn new(
        name: &'static str,
        version: &'static str,
        claims: &'static [&'static str],
        decide: fn(&Principal, &Item) -> Decision,
    ) -> Policy {
        Policy { name, version, claims, decide, configure: None, claims_fn: None }
    }
    /// with_configure adds a configure function.
    pub const fn with_configure(mut self, f: fn(&Settings) -> Result<(), String>) -> Policy {
        self.configure = Some(f);
        self
    }
}
