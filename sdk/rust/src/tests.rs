//! Native unit tests of the SDK's wire format: decoding (serde_json),
//! answer checks and encoding, with a test policy whose decide builds the
//! answer the permission's name asks for. Run on the host target:
//! `make sdk-rust-test` (see README.md).

use crate::{all_of, any_of, condition, configure, describe, evaluate, json, not, Decision, Item, Policy, Principal, Settings, Value};

fn leaf(rt: &str) -> crate::Criteria {
    condition("R", rt, Value::Null)
}

/// chain is n nots around a leaf: n + 1 criteria levels.
fn chain(n: usize, rt: &str) -> crate::Criteria {
    (0..n).fold(leaf(rt), |c, _| not(c))
}

fn decide(p: &Principal, it: &Item) -> Decision {
    let rt = it.permission.resource_type.as_str();
    match it.permission.name.as_str() {
        "echo" => Decision::allow().with_reason(format!(
            "id={} type={} user={} refs={:?} actor={:?} subject={} ptype={} name={} action={} rt={} ref={:?}",
            it.id,
            p.kind,
            p.user_entity_ref,
            p.ownership_entity_refs,
            p.actor.as_ref().map(|a| (a.kind.as_str(), a.subject.as_str())),
            p.subject,
            it.permission.kind,
            it.permission.name,
            it.permission.attributes.action,
            it.permission.resource_type,
            it.resource_ref
        )),
        "reason" => Decision::deny().with_reason(it.resource_ref.clone().unwrap_or_default()),
        "cond.ok" => Decision::conditional("plug", leaf(rt)),
        "cond.shapes" => Decision::conditional(
            "plug",
            any_of(vec![all_of(vec![leaf(rt), not(condition("P", rt, json!({"k": [1, "two", null, true], "e": {}})))]), leaf(rt)]),
        ),
        "cond.nopluginid" => Decision::conditional("", leaf(rt)),
        "cond.otherrt" => {
            let mut d = Decision::conditional("plug", leaf("other"));
            d.resource_type = "other".into();
            d
        }
        "cond.leafrt" => Decision::conditional("plug", all_of(vec![leaf(rt), leaf("other")])),
        "cond.norule" => Decision::conditional("plug", condition("", rt, Value::Null)),
        "cond.params" => Decision::conditional("plug", condition("R", rt, json!(1))),
        "cond.emptyallof" => Decision::conditional("plug", all_of(vec![])),
        "cond.emptyanyof" => Decision::conditional("plug", any_of(vec![])),
        "cond.depth32" => Decision::conditional("plug", chain(31, rt)),
        "cond.depth33" => Decision::conditional("plug", chain(32, rt)),
        "cond.nodes1000" => Decision::conditional("plug", any_of((0..999).map(|_| leaf(rt)).collect())),
        "cond.nodes1001" => Decision::conditional("plug", any_of((0..1000).map(|_| leaf(rt)).collect())),
        "allow.withplugin" => {
            let mut d = Decision::allow();
            d.plugin_id = "plug".into();
            d
        }
        "deny.withconditions" => {
            let mut d = Decision::deny();
            d.conditions = Some(leaf(rt));
            d
        }
        _ => Decision::abstain(),
    }
}

const POLICY: Policy = Policy::new("test", "1.0.0", &["*"], decide);

fn eval(input: &str) -> String {
    String::from_utf8(evaluate(&POLICY, input.as_bytes())).expect("the output is UTF-8")
}

/// eval_json is eval's output as JSON (serde_json writes object keys sorted).
fn eval_json(input: &str) -> Value {
    serde_json::from_str(&eval(input)).expect("the output is JSON")
}

/// a request for one item of permission name (resource type "t" when rt).
fn req(name: &str, rt: bool, extra: &str) -> String {
    let perm = if rt {
        format!(r#"{{"type":"resource","name":"{}","attributes":{{}},"resourceType":"t"}}"#, name)
    } else {
        format!(r#"{{"type":"basic","name":"{}","attributes":{{}}}}"#, name)
    };
    format!(r#"{{"abi":1,"principal":{{"type":"none"}},"items":[{{"id":"0","permission":{}{}}}]}}"#, perm, extra)
}

fn denied(why: &str) -> Value {
    json!({"items":[{"id":"0","result":"DENY","reason":why}]})
}

fn is_bad_input(out: &str) -> bool {
    out.starts_with(r#"{"error":{"code":"bad_input""#)
}

/// ref_echo decodes a resourceRef written as escaped and returns it as the
/// writer writes it back (the reason of "reason").
fn ref_echo(escaped: &str) -> String {
    let out = eval(&req("reason", false, &format!(r#","resourceRef":"{}""#, escaped)));
    let prefix = r#"{"items":[{"id":"0","reason":""#;
    let suffix = r#"","result":"DENY"}]}"#;
    assert!(out.starts_with(prefix) && out.ends_with(suffix), "unexpected output {:?}", out);
    out[prefix.len()..out.len() - suffix.len()].to_string()
}

#[test]
fn escapes_decode_and_encode() {
    let cases = [
        (r#"q\" b\\ s\/ \b\f\n\r\t"#, r#"q\" b\\ s/ \b\f\n\r\t"#),
        (r"\u0000\u0001\u001F\u007f\u0020", "\\u0000\\u0001\\u001f\u{7f} "),
        (r"\u0041\u004a\u004A", "AJJ"),
        (r"a\u003cb\u003e\u0026", "a<b>&"),
        (r"\u00e9\u00E9é", "ééé"),
        (r"\u2028\u2029\uffff", "\u{2028}\u{2029}\u{ffff}"),
        (r"\ud83d\ude00|\uD83D\uDE00|😀", "😀|😀|😀"),
    ];
    for (input, want) in cases {
        assert_eq!(ref_echo(input), want, "input {:?}", input);
    }
}

/// Lone surrogates are an error for serde_json (README: the host never sends
/// them; encoding/json would decode them as U+FFFD).
#[test]
fn lone_surrogates_are_bad_input() {
    for s in [r"\ud800", r"\udc00", r"a\ud83d", r"\ud800\u0041", r"\ud800\ud800", r"\ude00\ud83d"] {
        let out = eval(&req("reason", false, &format!(r#","resourceRef":"{}""#, s)));
        assert!(is_bad_input(&out), "{:?}: {}", s, out);
    }
}

#[test]
fn every_field_is_decoded() {
    let input = r#"{"principal":{"type":"user","userEntityRef":"user:default/a","ownershipEntityRefs":["r1","r2"],
        "actor":{"type":"service","subject":"plugin:x"}},"items":[{"id":"i\u00e9","permission":{"type":"resource",
        "name":"echo","attributes":{"action":"read"},"resourceType":"t"},"resourceRef":""}]}"#;
    let out: Value = serde_json::from_str(&eval(input)).unwrap();
    assert_eq!(
        out,
        json!({"items":[{"id":"ié","result":"ALLOW","reason":"id=ié type=user user=user:default/a refs=[\"r1\", \"r2\"] \
            actor=Some((\"service\", \"plugin:x\")) subject= ptype=resource name=echo action=read rt=t ref=Some(\"\")"}]})
    );
}

#[test]
fn nulls_unknown_fields_and_key_order() {
    let input = r#" {"x":{"a":[1,{"b":null}],"c":"\u00e9"},"items":[{"zz":[[]],"resourceRef":null,"permission":{"q":{},
        "attributes":null,"name":"echo","type":"basic","resourceType":null},"id":null,"y":-0.5e+3}],
        "principal":{"ownershipEntityRefs":null,"extra":false,"type":"service","subject":"s","actor":null,
        "userEntityRef":null},"abi":1,"more":null} "#;
    let out: Value = serde_json::from_str(&eval(input)).unwrap();
    assert_eq!(
        out,
        json!({"items":[{"id":"","result":"ALLOW","reason":"id= type=service user= refs=[] actor=None subject=s \
            ptype=basic name=echo action= rt= ref=None"}]})
    );
    // Keys are compared after unescaping, and case-sensitively.
    let out = eval_json(&req("x", false, "").replace(r#""name":"x""#, r#""n\u0061me":"cond.ok","Name":"echo""#));
    assert_eq!(out, denied("conditional needs a resource permission"));
}

#[test]
fn whitespace() {
    let input = " \t\r\n{ \"principal\" \t\r\n: { \"type\" : \"none\" } , \"items\"\n:\n[\n{\"id\"\t:\t\"0\"\r,\r\"permission\" \
        : { \"type\" : \"basic\" , \"name\" : \"reason\" } } ] } \n";
    assert_eq!(eval_json(input), json!({"items":[{"id":"0","result":"DENY"}]}));
    for bad in ["\x0c{\"principal\":{},\"items\":[]}", "{\"principal\":{},\x0b\"items\":[]}", "{\"principal\":{},\"items\":[]}\u{a0}"] {
        assert!(is_bad_input(&eval(bad)), "{:?}", bad);
    }
}

#[test]
fn every_criteria_shape_is_encoded() {
    let out: Value = serde_json::from_str(&eval(&req("cond.shapes", true, ""))).unwrap();
    let l = json!({"rule":"R","resourceType":"t"});
    assert_eq!(
        out,
        json!({"items":[{"id":"0","result":"CONDITIONAL","pluginId":"plug","resourceType":"t","conditions":
            {"anyOf":[{"allOf":[l, {"not":{"rule":"P","resourceType":"t","params":{"k":[1,"two",null,true],"e":{}}}}]}, l]}}]})
    );
    assert_eq!(
        eval(&req("cond.ok", true, "")),
        r#"{"items":[{"conditions":{"resourceType":"t","rule":"R"},"id":"0","pluginId":"plug","resourceType":"t","result":"CONDITIONAL"}]}"#
    );
    assert!(eval(&req("cond.depth32", true, "")).contains(r#""result":"CONDITIONAL""#));
    assert!(eval(&req("cond.nodes1000", true, "")).contains(r#""result":"CONDITIONAL""#));
}

#[test]
fn invalid_answers_become_deny() {
    let cases = [
        ("cond.ok", false, "conditional needs a resource permission"),
        ("cond.nopluginid", true, "conditional without pluginId"),
        ("cond.otherrt", true, "conditional for another resource type"),
        ("cond.leafrt", true, "a condition for another resource type"),
        ("cond.norule", true, "a condition without rule"),
        ("cond.params", true, "condition params that are not an object"),
        ("cond.emptyallof", true, "an empty allOf or anyOf"),
        ("cond.emptyanyof", true, "an empty allOf or anyOf"),
        ("cond.depth33", true, "criteria deeper than 32"),
        ("cond.nodes1001", true, "criteria with more than 1000 nodes"),
        ("allow.withplugin", true, "conditional fields on a non-conditional answer"),
        ("deny.withconditions", true, "conditional fields on a non-conditional answer"),
    ];
    for (name, rt, why) in cases {
        assert_eq!(eval_json(&req(name, rt, "")), denied(why), "{}", name);
    }
}

#[test]
fn wrong_types_and_malformed_input_are_bad_input() {
    let bad = [
        "", "[]", "{}", r#"{"items":[]}"#, r#"{"principal":{}}"#, r#"{"principal":"x","items":[]}"#,
        r#"{"principal":{"type":1},"items":[]}"#, r#"{"principal":{"ownershipEntityRefs":"a"},"items":[]}"#,
        r#"{"principal":{"ownershipEntityRefs":["a",1]},"items":[]}"#, r#"{"principal":{"actor":"x"},"items":[]}"#,
        r#"{"principal":{},"items":[5]}"#, r#"{"principal":{},"items":[{"id":0}]}"#,
        r#"{"principal":{},"items":[{"resourceRef":{}}]}"#, r#"{"principal":{},"items":[{"permission":"p"}]}"#,
        r#"{"principal":{},"items":[{"permission":{"attributes":{"action":true}}}]}"#,
        r#"{"principal":{},"items":[],}"#, r#"{"principal":{},"items":[,]}"#, r#"{"principal":{} "items":[]}"#,
        r#"{"principal":{},"items":[]} x"#, r#"{"principal":{"type":"\x"},"items":[]}"#,
        r#"{"principal":{"type":"\u12G4"},"items":[]}"#, "{\"principal\":{\"type\":\"a\tb\"},\"items\":[]}",
        r#"{"principal":{"x":01},"items":[]}"#, r#"{"principal":{"x":1.},"items":[]}"#, r#"{"principal":{"x":tru},"items":[]}"#,
        "\u{feff}{\"principal\":{},\"items\":[]}",
        // A repeated known key is an error for serde's derive (README).
        r#"{"principal":{"type":"none","type":"user"},"items":[]}"#,
    ];
    for b in bad {
        assert!(is_bad_input(&eval(b)), "{:?}: {}", b, eval(b));
    }
    // Invalid UTF-8 in a string.
    let mut raw = req("reason", false, r#","resourceRef":"x""#).into_bytes();
    let at = raw.iter().rposition(|&c| c == b'x').unwrap();
    raw[at] = 0xff;
    assert!(is_bad_input(std::str::from_utf8(&evaluate(&POLICY, &raw)).unwrap()));
}

#[test]
fn truncated_input_is_bad_input() {
    let full = req("cond.shapes", true, r#","resourceRef":"\ud83d\ude00\u00e9\n é -1.5e+3""#);
    assert!(eval(&full).starts_with(r#"{"items":["#));
    for n in 0..full.len() {
        if !full.is_char_boundary(n) {
            continue;
        }
        assert!(is_bad_input(&eval(&full[..n])), "prefix {:?}", &full[..n]);
    }
}

#[test]
fn describe_and_configure() {
    let d = String::from_utf8(describe(&POLICY).unwrap()).unwrap();
    assert_eq!(d, r#"{"abi":"1.0","claims":["*"],"name":"test","sdk":"rust/0.1.0","version":"1.0.0"}"#);
    let conf = |s: &str| String::from_utf8(configure(&POLICY, s.as_bytes())).unwrap();
    assert_eq!(conf("{}"), r#"{"ok":true}"#);
    assert_eq!(conf(r#"{"settings":null,"files":{}}"#), r#"{"ok":true}"#);
    assert!(conf(r#"{"settings":{}}"#).starts_with(r#"{"error":{"code":"invalid_settings""#));
    assert!(conf(r#"{"files":{"a":"b"}}"#).starts_with(r#"{"error":{"code":"invalid_settings""#));
    assert!(conf(r#"{"files":[]}"#).starts_with(r#"{"error":{"code":"bad_input""#));
    fn accept(s: &Settings) -> Result<(), String> {
        match (&s.settings, s.files.get("a.yaml")) {
            (Some(v), Some(text)) if v["ok"] == json!(true) && text == "x: é\n" => Ok(()),
            _ => Err("refused".into()),
        }
    }
    let with = POLICY.with_configure(accept);
    let conf = |s: &str| String::from_utf8(configure(&with, s.as_bytes())).unwrap();
    assert_eq!(conf(r#"{"settings":{"ok":true},"files":{"a.yaml":"x: \u00e9\n"}}"#), r#"{"ok":true}"#);
    assert_eq!(conf(r#"{"settings":{"ok":false}}"#), r#"{"error":{"code":"invalid_settings","message":"refused"}}"#);
}

#[test]
fn empty_policy_is_refused() {
    let p = Policy::new("", "1.0.0", &["*"], decide);
    assert!(String::from_utf8(evaluate(&p, b"{}")).unwrap().starts_with(r#"{"error":{"code":"no_policy""#));
    assert!(describe(&p).is_none());
    let p = Policy::new("x", "1.0.0", &["a", ""], decide);
    assert!(describe(&p).is_none());
}

/// Mutator makes reproducible random edits (xorshift32): byte replacements
/// with JSON's special bytes and UTF-8 lead and continuation bytes,
/// insertions, deletions, duplications and truncations.
struct Mutator(u32);

impl Mutator {
    fn next(&mut self) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        self.0 as usize
    }

    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        const SPECIAL: &[u8] = b"\"\\{}[],:0u-.eE \t\n";
        const UTF8: &[u8] = &[0x80, 0xbf, 0xc3, 0xe2, 0xed, 0xf0, 0xff, 0x00];
        let mut b = seed.to_vec();
        for _ in 0..1 + self.next() % 4 {
            let at = if b.is_empty() { 0 } else { self.next() % b.len() };
            let byte = if self.next() % 3 == 0 { UTF8[self.next() % UTF8.len()] } else { SPECIAL[self.next() % SPECIAL.len()] };
            match self.next() % 5 {
                0 if at < b.len() => b[at] = byte,
                1 => b.insert(at, byte),
                2 => {
                    let end = (at + 1 + self.next() % 8).min(b.len());
                    b.drain(at..end);
                }
                3 => {
                    let end = (at + 1 + self.next() % 16).min(b.len());
                    let dup: Vec<u8> = b[at..end].to_vec();
                    b.splice(at..at, dup);
                }
                _ => b.truncate(at),
            }
        }
        b
    }
}

#[test]
fn random_mutations_give_answers_or_bad_input() {
    let seeds = [
        req("cond.shapes", true, r#","resourceRef":"\ud83d\ude00\u00e9\n""#),
        req("echo", false, r#","resourceRef":"a\"b\\c\u0000""#),
        r#"{"x":[1,-2.5e+3,true,false,null,{"k":"\u0041"}],"items":[{"permission":{"name":"cond.ok","type":"resource","resourceType":"t"},"id":"\u0000"}],"principal":{"type":"none"}}"#.to_string(),
    ];
    let mut m = Mutator(0x9e37_79b9);
    for i in 0..5000 {
        let input = m.mutate(seeds[i % seeds.len()].as_bytes());
        let out: Value = serde_json::from_slice(&evaluate(&POLICY, &input)).expect("the output is JSON");
        assert!(out["items"].is_array() || out["error"]["code"] == "bad_input", "{}", out);
    }
}
