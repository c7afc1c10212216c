// A test policy for the SDK's native tests (sdk.test.mjs): decide builds the
// answer the permission's name asks for (valid or not, to test the SDK's
// checks), and reparse exposes the JSON parser and writer.
import {
  Criteria, Decision, Item, Policy, Principal, Settings, Writer,
  abstain, allOf, allow, anyOf, array, boolean, condition, conditional, deny, integer,
  not, nul, number, object, param, parse, register, str,
} from "../assembly";
export * from "../assembly/exports";

function leaf(rt: string): Criteria { return condition("R", rt); }

function chain(n: i32, rt: string): Criteria {
  let c = leaf(rt);
  for (let i = 0; i < n; i++) c = not(c);
  return c;
}

function many(n: i32, rt: string): Criteria {
  const cs = new Array<Criteria>(n);
  for (let i = 0; i < n; i++) cs[i] = leaf(rt);
  return anyOf(cs);
}

class TestPolicy extends Policy {
  constructor() {
    super();
    this.name = "test";
    this.version = "1.0.0";
    this.claims = ["*"];
  }

  decide(p: Principal, it: Item): Decision {
    const n = it.permission.name;
    const rt = it.permission.resourceType;
    if (n == "reason") return deny(it.resourceRef);
    if (n == "cond.ok") return conditional("plug", leaf(rt));
    if (n == "cond.nopluginid") return conditional("", leaf(rt));
    if (n == "cond.otherrt") { const d = conditional("plug", leaf("other")); d.resourceType = "other"; return d; }
    if (n == "cond.leafrt") return conditional("plug", allOf([leaf(rt), leaf("other")]));
    if (n == "cond.norule") return conditional("plug", condition("", rt));
    if (n == "cond.emptyallof") return conditional("plug", allOf([]));
    if (n == "cond.emptyanyof") return conditional("plug", anyOf([]));
    if (n == "cond.depth32") return conditional("plug", chain(31, rt));
    if (n == "cond.depth33") return conditional("plug", chain(32, rt));
    if (n == "cond.nodes1000") return conditional("plug", many(999, rt));
    if (n == "cond.nodes1001") return conditional("plug", many(1000, rt));
    if (n == "allow.withplugin") { const d = allow(); d.pluginId = "plug"; return d; }
    if (n == "deny.withconditions") { const d = deny(); d.conditions = leaf(rt); return d; }
    if (n == "values") return conditional("plug", condition("V", rt, [
      param("min", integer(i64.MIN_VALUE)), param("max", integer(i64.MAX_VALUE)), param("zero", integer(0)),
      param("num", number("-0.5e+10")), param("ctl", str("a\0\x01\x1f\x7f\"\\/<\u2028\uD83D\uDE00\uD800")),
      param("empty", object([])), param("none", array([])), param("nil", nul()),
      param("arr", array([nul(), boolean(false), str("")])),
    ]));
    return abstain();
  }

  configure(s: Settings): string | null {
    const v = s.value;
    if (v == null) return null;
    const ok = v.get("ok");
    if (ok == null || !ok.bool) return "settings need \"ok\": true";
    if (!s.files.has("a.yaml") || s.files.get("a.yaml") != "x: \u00e9\n") return "a.yaml is wrong";
    return null;
  }
}

register(new TestPolicy());

const out = new Writer();

/** reparse parses the UTF-8 text at ptr and writes it back, or "invalid". */
export function reparse(ptr: usize, len: u32): u64 {
  const v = parse(String.UTF8.decodeUnsafe(ptr, len));
  out.reset();
  if (v == null) out.raw("invalid");
  else out.value(v);
  return (<u64>out.buf << 32) | <u64>out.len;
}
