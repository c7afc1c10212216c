//! Backstage permission criteria (abi/SPEC.md §8).

use serde_json::{Map, Value};

/// Criteria is a criteria tree: a condition (leaf) or allOf, anyOf, not.
#[derive(Debug, Clone, PartialEq)]
pub enum Criteria {
    Condition { rule: String, resource_type: String, params: Option<Map<String, Value>> },
    AllOf(Vec<Criteria>),
    AnyOf(Vec<Criteria>),
    Not(Box<Criteria>),
}

/// condition makes a leaf; params is a JSON object (`json!({...})`), or
/// `Value::Null` for no params key.
pub fn condition(rule: &str, resource_type: &str, params: Value) -> Criteria {
    let params = match params {
        Value::Object(m) => Some(m),
        Value::Null => None,
        other => {
            // Not an object: kept as an invalid marker that check() reports.
            let mut m = Map::new();
            m.insert("\u{0}invalid".to_string(), other);
            Some(m)
        }
    };
    Criteria::Condition { rule: rule.to_string(), resource_type: resource_type.to_string(), params }
}

/// all_of holds when every child holds.
pub fn all_of(children: Vec<Criteria>) -> Criteria {
    Criteria::AllOf(children)
}

/// any_of holds when at least one child holds.
pub fn any_of(children: Vec<Criteria>) -> Criteria {
    Criteria::AnyOf(children)
}

/// not holds when the child does not.
pub fn not(child: Criteria) -> Criteria {
    Criteria::Not(Box::new(child))
}

impl Criteria {
    /// check applies the host's rules: non-empty allOf/anyOf, rule and
    /// resource type on leaves, every leaf for resource_type, params an
    /// object, depth at most 32, at most 1000 nodes.
    pub fn check(&self, resource_type: &str) -> Result<(), &'static str> {
        let mut nodes = 0;
        self.check_at(resource_type, 1, &mut nodes)
    }

    fn check_at(&self, rt: &str, depth: usize, nodes: &mut usize) -> Result<(), &'static str> {
        if depth > 32 {
            return Err("criteria deeper than 32");
        }
        *nodes += 1;
        if *nodes > 1000 {
            return Err("criteria with more than 1000 nodes");
        }
        match self {
            Criteria::Condition { rule, resource_type, params } => {
                if rule.is_empty() {
                    return Err("a condition without rule");
                }
                if resource_type != rt {
                    return Err("a condition for another resource type");
                }
                if let Some(p) = params {
                    if p.contains_key("\u{0}invalid") {
                        return Err("condition params that are not an object");
                    }
                }
                Ok(())
            }
            Criteria::AllOf(cs) | Criteria::AnyOf(cs) => {
                if cs.is_empty() {
                    return Err("an empty allOf or anyOf");
                }
                cs.iter().try_for_each(|c| c.check_at(rt, depth + 1, nodes))
            }
            Criteria::Not(c) => c.check_at(rt, depth + 1, nodes),
        }
    }

    /// to_value is the criteria's JSON.
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        match self {
            Criteria::Condition { rule, resource_type, params } => {
                m.insert("rule".into(), Value::String(rule.clone()));
                m.insert("resourceType".into(), Value::String(resource_type.clone()));
                if let Some(p) = params {
                    m.insert("params".into(), Value::Object(p.clone()));
                }
            }
            Criteria::AllOf(cs) => {
                m.insert("allOf".into(), Value::Array(cs.iter().map(Criteria::to_value).collect()));
            }
            Criteria::AnyOf(cs) => {
                m.insert("anyOf".into(), Value::Array(cs.iter().map(Criteria::to_value).collect()));
            }
            Criteria::Not(c) => {
                m.insert("not".into(), c.to_value());
            }
        }
        Value::Object(m)
    }
}
