//! Native tests of the conformance policy through the SDK's wire format:
//! conf.reason echoes every decoded string back through the writer, and the
//! conf.cond.* names write every criteria shape. `make sdk-rust-test`.

use verdict::{evaluate, json, Policy, Value};

const POLICY: Policy = Policy::new("conformance", verdict::SDK_VERSION, &["conf.*"], super::decide);

const USER: &str = r#""principal":{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":["user:default/a","group:default/g"]}"#;

fn eval(input: &str) -> Value {
    let out = String::from_utf8(evaluate(&POLICY, input.as_bytes())).expect("the output is UTF-8");
    out.parse().expect("the output is JSON")
}

fn reason_of_ref(escaped: &str) -> Value {
    let out = eval(&format!(
        r#"{{"abi":1,{},"items":[{{"id":"0","permission":{{"type":"basic","name":"conf.reason"}},"resourceRef":"{}"}}]}}"#,
        USER, escaped
    ));
    out["items"][0]["reason"].clone()
}

#[test]
fn echo_decodes_every_escape() {
    let tail = " principal=user user=user:default/a subject=- actor=- owners=user:default/a,group:default/g";
    for (escaped, decoded) in [
        (r#"q\" b\\ s\/ \b\f\n\r\t"#, "q\" b\\ s/ \u{8}\u{c}\n\r\t"),
        (r"\u0000\u0001\u001F\u007f", "\u{0}\u{1}\u{1f}\u{7f}"),
        (r"a\u003cb\u003e\u0026\u00e9\u00E9é", "a<b>&ééé"),
        (r"\ud83d\ude00|\uD83D\uDE00|😀|\u2028", "😀|😀|😀|\u{2028}"),
    ] {
        let want = format!("name=conf.reason type=basic action=- resourceType=- ref={}{}", decoded, tail);
        assert_eq!(reason_of_ref(escaped), json!(want), "{}", escaped);
    }
}

#[test]
fn every_criteria_shape() {
    let item = |name: &str| {
        format!(
            r#"{{"abi":1,{},"items":[{{"id":"0","permission":{{"type":"resource","name":"{}","attributes":{{}},"resourceType":"t"}}}}]}}"#,
            USER, name
        )
    };
    let owner = json!({"rule":"IS_OWNER","resourceType":"t","params":{"claims":["user:default/a","group:default/g"]}});
    let public = json!({"rule":"IS_PUBLIC","resourceType":"t"});
    let kind = json!({"rule":"IS_KIND","resourceType":"t","params":{"kinds":["Group","User"]}});
    for (name, want) in [
        ("conf.cond.owner", owner.clone()),
        ("conf.cond.noparams", public.clone()),
        ("conf.cond.params", json!({"rule":"HAS_VALUES","resourceType":"t","params":{"s":"text \"quoted\" \\ ünïcødé ✓",
            "n":42,"f":-1.5,"t":true,"no":false,"z":null,"list":["a",1,true,null]}})),
        ("conf.cond.not", json!({"not": kind.clone()})),
        ("conf.cond.allof", json!({"allOf":[owner.clone(), public.clone()]})),
        ("conf.cond.anyof", json!({"anyOf":[owner.clone(), {"not": kind.clone()}]})),
        ("conf.cond.nested", json!({"anyOf":[{"allOf":[owner.clone(), {"not":{"anyOf":[kind.clone(), public.clone()]}}]},
            {"not":{"not": public.clone()}}]})),
    ] {
        assert_eq!(
            eval(&item(name)),
            json!({"items":[{"id":"0","result":"CONDITIONAL","pluginId":"conf","resourceType":"t","conditions":want}]}),
            "{}",
            name
        );
    }
}
