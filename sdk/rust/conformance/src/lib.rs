//! ABI v1's reference conformance policy (abi/SPEC.md §15) with the Rust
//! SDK. `make sdks` builds build/sdk/rust/conformance.wasm and `make test`
//! runs the shared corpus against it through the real host.

use verdict::{all_of, any_of, condition, export_policy, json, not, Criteria, Decision, Item, Policy, Principal, Value};

fn dash(s: &str) -> &str {
    if s.is_empty() {
        "-"
    } else {
        s
    }
}

/// echo is the reason of conf.reason: the decoded inputs, space separated.
pub fn echo(p: &Principal, it: &Item) -> String {
    let actor = p.actor.as_ref().map_or("-", |a| dash(&a.subject));
    format!(
        "name={} type={} action={} resourceType={} ref={} principal={} user={} subject={} actor={} owners={}",
        it.permission.name,
        it.permission.kind,
        dash(&it.permission.attributes.action),
        dash(&it.permission.resource_type),
        it.resource_ref.as_deref().unwrap_or("-"),
        p.kind,
        dash(&p.user_entity_ref),
        dash(&p.subject),
        actor,
        p.ownership_entity_refs.join(","),
    )
}

fn conditions(name: &str, p: &Principal, rt: &str) -> Option<Criteria> {
    let owner = || condition("IS_OWNER", rt, json!({"claims": p.ownership_entity_refs}));
    let public = || condition("IS_PUBLIC", rt, Value::Null);
    let kind = || condition("IS_KIND", rt, json!({"kinds": ["Group", "User"]}));
    Some(match name {
        "conf.cond.owner" => owner(),
        "conf.cond.noparams" => public(),
        "conf.cond.params" => condition(
            "HAS_VALUES",
            rt,
            json!({"s": "text \"quoted\" \\ ünïcødé ✓", "n": 42, "f": -1.5, "t": true, "no": false,
                   "z": null, "list": ["a", 1, true, null]}),
        ),
        "conf.cond.not" => not(kind()),
        "conf.cond.allof" => all_of(vec![owner(), public()]),
        "conf.cond.anyof" => any_of(vec![owner(), not(kind())]),
        "conf.cond.nested" => any_of(vec![all_of(vec![owner(), not(any_of(vec![kind(), public()]))]), not(not(public()))]),
        _ => return None,
    })
}

/// decide is the conformance policy.
pub fn decide(p: &Principal, it: &Item) -> Decision {
    let name = it.permission.name.as_str();
    match name {
        "conf.allow" => return Decision::allow(),
        "conf.deny" => return Decision::deny(),
        "conf.abstain" => return Decision::abstain(),
        "conf.allow.reason" => return Decision::allow().with_reason("allowed by conformance policy"),
        "conf.deny.reason" => return Decision::deny().with_reason("denied by conformance policy"),
        "conf.reason" => return Decision::allow().with_reason(echo(p, it)),
        _ => {}
    }
    if !name.starts_with("conf.cond.") {
        return Decision::abstain();
    }
    if !it.permission.is_resource() {
        return Decision::deny().with_reason("conditional needs a resource permission");
    }
    match conditions(name, p, &it.permission.resource_type) {
        Some(c) => Decision::conditional("conf", c),
        None => Decision::abstain(),
    }
}

export_policy!(Policy::new("conformance", verdict::SDK_VERSION, &["conf.*"], decide));

#[cfg(test)]
mod tests;
