// Decoding the host's input, checking and encoding answers, and the ABI exports' bodies.
import { Kind, Parser, Writer, parse } from "./json";
import { Actor, Criteria, Decision, Item, Op, Permission, Policy, Principal, Result, Settings, SDK_VERSION, deny } from "./policy";

import { LogLevel, log } from "./abort";
export { LogLevel, log };

let policy: Policy | null = null;

/** register makes p the policy this module runs; call it once, from the entry file. */
export function register(p: Policy): void { policy = p; }

/** The output of every call; its buffer stays valid until the next call (ABI §5). */
const w = new Writer();

function emit(): u64 { return (<u64>w.buf << 32) | <u64>w.len; }

function errorEnvelope(code: string, message: string): u64 {
  w.reset();
  w.raw("{\"error\":{\"code\":");
  w.string(code);
  w.raw(",\"message\":");
  w.string(message);
  w.raw("}}");
  return emit();
}

function input(ptr: usize, len: usize): string { return String.UTF8.decodeUnsafe(ptr, len); }

// The request is decoded straight from the text (no JSON tree), skipping
// unknown fields without keeping them. failed records a syntax or type error
// and bad names the field.
let failed = false;
let bad = "";
let present = false;

function fail(field: string): void {
  if (!failed) bad = field;
  failed = true;
}

// nextKey reads the next key of an object whose "{" was read: the key, or
// null at the closing "}" (or on an error, which sets failed).
function nextKey(p: Parser, first: bool, field: string): string | null {
  let c = p.peek();
  if (c == 0x7d) { p.pos++; return null; }
  if (!first) {
    if (c != 0x2c) { fail(field); return null; }
    p.pos++;
    c = p.peek();
  }
  if (c != 0x22) { fail(field); return null; }
  const k = p.string();
  if (k == null || !p.expect(0x3a)) { fail(field); return null; }
  return k;
}

// isNull consumes a null; it tells whether there was one.
function isNull(p: Parser): bool { return p.peek() == 0x6e && p.lit("null"); }

// readString reads a string, or null (then "" and present is false).
function readString(p: Parser, field: string): string {
  present = false;
  if (isNull(p)) return "";
  if (p.peek() != 0x22) { fail(field); return ""; }
  const s = p.string();
  if (s == null) { fail(field); return ""; }
  present = true;
  return s;
}

function skip(p: Parser, field: string): void { if (!p.skip(2)) fail(field); }

function readStrings(p: Parser, field: string): string[] {
  const out = new Array<string>();
  if (isNull(p)) return out;
  if (!p.expect(0x5b)) { fail(field); return out; }
  if (p.peek() == 0x5d) { p.pos++; return out; }
  while (!failed) {
    out.push(readString(p, field));
    const c = p.peek();
    p.pos++;
    if (c == 0x5d) break;
    if (c != 0x2c) fail(field);
  }
  return out;
}

function readActor(p: Parser): Actor | null {
  if (isNull(p)) return null;
  const a = new Actor();
  if (!p.expect(0x7b)) { fail("actor"); return a; }
  for (let first = true; !failed; first = false) {
    const k = nextKey(p, first, "actor");
    if (k == null) break;
    if (k == "type") a.type = readString(p, "actor.type");
    else if (k == "subject") a.subject = readString(p, "actor.subject");
    else skip(p, "actor");
  }
  return a;
}

function readPrincipal(p: Parser): Principal {
  const pr = new Principal();
  if (!p.expect(0x7b)) { fail("principal"); return pr; }
  for (let first = true; !failed; first = false) {
    const k = nextKey(p, first, "principal");
    if (k == null) break;
    if (k == "type") pr.type = readString(p, "principal.type");
    else if (k == "userEntityRef") pr.userEntityRef = readString(p, "principal.userEntityRef");
    else if (k == "subject") pr.subject = readString(p, "principal.subject");
    else if (k == "ownershipEntityRefs") pr.ownershipEntityRefs = readStrings(p, "principal.ownershipEntityRefs");
    else if (k == "actor") pr.actor = readActor(p);
    else skip(p, "principal");
  }
  return pr;
}

function readPermission(p: Parser, pm: Permission): void {
  if (isNull(p)) return;
  if (!p.expect(0x7b)) { fail("permission"); return; }
  for (let first = true; !failed; first = false) {
    const k = nextKey(p, first, "permission");
    if (k == null) break;
    if (k == "type") pm.type = readString(p, "permission.type");
    else if (k == "name") pm.name = readString(p, "permission.name");
    else if (k == "resourceType") pm.resourceType = readString(p, "permission.resourceType");
    else if (k == "attributes") {
      if (isNull(p)) continue;
      if (!p.expect(0x7b)) { fail("attributes"); return; }
      for (let f2 = true; !failed; f2 = false) {
        const a = nextKey(p, f2, "attributes");
        if (a == null) break;
        if (a == "action") pm.action = readString(p, "attributes.action");
        else skip(p, "attributes");
      }
    } else skip(p, "permission");
  }
}

function readItem(p: Parser): Item {
  const it = new Item();
  if (!p.expect(0x7b)) { fail("items"); return it; }
  for (let first = true; !failed; first = false) {
    const k = nextKey(p, first, "item");
    if (k == null) break;
    if (k == "id") it.id = readString(p, "item.id");
    else if (k == "resourceRef") { it.resourceRef = readString(p, "item.resourceRef"); it.hasResourceRef = present; }
    else if (k == "permission") { it.permission = new Permission(); readPermission(p, it.permission); }
    else skip(p, "item");
  }
  return it;
}

function readItems(p: Parser): Item[] {
  const out = new Array<Item>();
  if (!p.expect(0x5b)) { fail("items"); return out; }
  if (p.peek() == 0x5d) { p.pos++; return out; }
  while (!failed) {
    out.push(readItem(p));
    const c = p.peek();
    p.pos++;
    if (c == 0x5d) break;
    if (c != 0x2c) fail("items");
  }
  return out;
}

let nodes = 0;

function checkCriteria(c: Criteria, rt: string, depth: i32): string | null {
  if (depth > 32) return "criteria deeper than 32";
  if (++nodes > 1000) return "criteria with more than 1000 nodes";
  if (c.op == Op.Leaf) {
    if (c.rule.length == 0) return "a condition without rule";
    if (c.resourceType != rt) return "a condition for another resource type";
    return null;
  }
  if (c.children.length == 0) return "an empty allOf or anyOf";
  if (c.op == Op.Not && c.children.length != 1) return "not with more than one child";
  for (let i = 0; i < c.children.length; i++) {
    const e = checkCriteria(unchecked(c.children[i]), rt, depth + 1);
    if (e != null) return e;
  }
  return null;
}

// check returns null when the host would accept d for it, else why not.
function check(d: Decision, it: Item): string | null {
  if (d.result == Result.Conditional) {
    if (!it.permission.isResource()) return "conditional needs a resource permission";
    if (d.pluginId.length == 0) return "conditional without pluginId";
    if (d.resourceType.length == 0) d.resourceType = it.permission.resourceType;
    if (d.resourceType != it.permission.resourceType) return "conditional for another resource type";
    const c = d.conditions;
    if (c == null) return "conditional without conditions";
    nodes = 0;
    return checkCriteria(c, d.resourceType, 1);
  }
  if (d.result != Result.Allow && d.result != Result.Deny && d.result != Result.Abstain) return "invalid result";
  if (d.pluginId.length > 0 || d.resourceType.length > 0 || d.conditions != null) return "conditional fields on a non-conditional answer";
  return null;
}

function writeCriteria(c: Criteria): void {
  if (c.op == Op.Leaf) {
    w.raw("{\"rule\":");
    w.string(c.rule);
    w.raw(",\"resourceType\":");
    w.string(c.resourceType);
    const ps = c.params;
    if (ps != null) {
      w.raw(",\"params\":");
      w.fields(ps);
    }
    w.raw("}");
    return;
  }
  if (c.op == Op.Not) {
    w.raw("{\"not\":");
    writeCriteria(unchecked(c.children[0]));
    w.raw("}");
    return;
  }
  w.raw(c.op == Op.AllOf ? "{\"allOf\":[" : "{\"anyOf\":[");
  for (let i = 0; i < c.children.length; i++) {
    if (i) w.raw(",");
    writeCriteria(unchecked(c.children[i]));
  }
  w.raw("]}");
}

const RESULTS = ["ABSTAIN", "ALLOW", "DENY", "CONDITIONAL"];

function writeAnswer(it: Item, d: Decision): void {
  w.raw("{\"id\":");
  w.string(it.id);
  w.raw(",\"result\":\"");
  w.raw(RESULTS[d.result]);
  w.raw("\"");
  if (d.result == Result.Conditional) {
    w.raw(",\"pluginId\":");
    w.string(d.pluginId);
    w.raw(",\"resourceType\":");
    w.string(d.resourceType);
    w.raw(",\"conditions\":");
    writeCriteria(d.conditions!);
  }
  if (d.reason.length > 0) {
    w.raw(",\"reason\":");
    w.string(d.reason);
  }
  w.raw("}");
}

function checkPolicy(): string | null {
  const p = policy;
  if (p == null) return "no policy registered: call register() from the entry file";
  if (p.name.length == 0 || p.version.length == 0) return "the policy needs a name and a version";
  return null;
}

export function evaluate(ptr: usize, len: usize): u64 {
  const why = checkPolicy();
  if (why != null) return errorEnvelope("no_policy", why);
  const pol = policy!;
  const p = new Parser(input(ptr, len));
  failed = false;
  bad = "";
  let principal: Principal | null = null;
  let items: Item[] | null = null;
  if (!p.expect(0x7b)) fail("input");
  for (let first = true; !failed; first = false) {
    const k = nextKey(p, first, "input");
    if (k == null) break;
    if (k == "principal") principal = isNull(p) ? null : readPrincipal(p);
    else if (k == "items") items = isNull(p) ? null : readItems(p);
    else skip(p, "input");
  }
  p.ws();
  if (!failed && p.pos != p.src.length) fail("input");
  if (failed) return errorEnvelope("bad_input", "cannot decode " + bad);
  if (principal == null) return errorEnvelope("bad_input", "principal is not an object");
  if (items == null) return errorEnvelope("bad_input", "items is not an array");
  const decisions = new Array<Decision>(items.length);
  for (let i = 0; i < items.length; i++) {
    const it = unchecked(items[i]);
    let d = pol.decide(principal, it);
    const wrong = check(d, it);
    if (wrong != null) {
      log(LogLevel.Warn, "verdict: invalid answer for " + it.permission.name + " became DENY: " + wrong);
      d = deny(wrong);
    }
    unchecked(decisions[i] = d);
  }
  w.reset();
  w.raw("{\"items\":[");
  for (let i = 0; i < items.length; i++) {
    if (i) w.byte(0x2c);
    writeAnswer(unchecked(items[i]), unchecked(decisions[i]));
  }
  w.raw("]}");
  return emit();
}

export function describe(): u64 {
  if (checkPolicy() != null) return 0;
  const pol = policy!;
  w.reset();
  w.raw("{\"abi\":\"1.0\",\"name\":");
  w.string(pol.name);
  w.raw(",\"version\":");
  w.string(pol.version);
  w.raw(",\"sdk\":\"assemblyscript/" + SDK_VERSION + "\",\"claims\":[");
  for (let i = 0; i < pol.claims.length; i++) {
    const c = unchecked(pol.claims[i]);
    if (c.length == 0) return 0;
    if (i) w.raw(",");
    w.string(c);
  }
  w.raw("]}");
  return emit();
}

export function configure(ptr: usize, len: usize): u64 {
  const why = checkPolicy();
  if (why != null) return errorEnvelope("no_policy", why);
  const inp = parse(input(ptr, len));
  if (inp == null || inp.kind != Kind.Object) return errorEnvelope("bad_input", "configure input is not a JSON object");
  const s = new Settings();
  const v = inp.get("settings");
  if (v != null && v.kind != Kind.Null) s.value = v;
  const files = inp.get("files");
  if (files != null && files.kind != Kind.Null) {
    if (files.kind != Kind.Object) return errorEnvelope("bad_input", "configure files is not an object");
    for (let i = 0; i < files.fields.length; i++) {
      const f = unchecked(files.fields[i]);
      if (f.value.kind != Kind.String) return errorEnvelope("bad_input", "a configure file is not a string");
      s.files.set(f.key, f.value.str);
    }
  }
  const e = policy!.configure(s);
  if (e != null) return errorEnvelope("invalid_settings", e);
  w.reset();
  w.raw("{\"ok\":true}");
  return emit();
}

