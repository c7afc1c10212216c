// ABI v1's reference conformance policy (abi/SPEC.md §15) with the
// AssemblyScript SDK. `make sdks` builds build/sdk/assemblyscript/conformance.wasm
// and `make test` runs the shared corpus against it through the real host.
import {
  Criteria, Decision, Item, Policy, Principal, SDK_VERSION,
  abstain, allOf, allow, anyOf, array, boolean, condition, conditional, deny, integer,
  not, nul, number, param, register, str, strings,
} from "../assembly";
export * from "../assembly/exports";

function dash(s: string): string { return s.length > 0 ? s : "-"; }

/** echo is the reason of conf.reason: the decoded inputs, space separated. */
function echo(p: Principal, it: Item): string {
  const actor = p.actor;
  return "name=" + it.permission.name +
    " type=" + it.permission.type +
    " action=" + dash(it.permission.action) +
    " resourceType=" + dash(it.permission.resourceType) +
    " ref=" + (it.hasResourceRef ? it.resourceRef : "-") +
    " principal=" + p.type +
    " user=" + dash(p.userEntityRef) +
    " subject=" + dash(p.subject) +
    " actor=" + (actor != null ? dash(actor.subject) : "-") +
    " owners=" + p.ownershipEntityRefs.join(",");
}

function conditions(name: string, p: Principal, rt: string): Criteria | null {
  const owner = condition("IS_OWNER", rt, [param("claims", strings(p.ownershipEntityRefs))]);
  const pub = condition("IS_PUBLIC", rt);
  const kind = condition("IS_KIND", rt, [param("kinds", strings(["Group", "User"]))]);
  if (name == "conf.cond.owner") return owner;
  if (name == "conf.cond.noparams") return pub;
  if (name == "conf.cond.params") return condition("HAS_VALUES", rt, [
    param("s", str("text \"quoted\" \\ ünïcødé ✓")),
    param("n", integer(42)),
    param("f", number("-1.5")),
    param("t", boolean(true)),
    param("no", boolean(false)),
    param("z", nul()),
    param("list", array([str("a"), integer(1), boolean(true), nul()])),
  ]);
  if (name == "conf.cond.not") return not(kind);
  if (name == "conf.cond.allof") return allOf([owner, pub]);
  if (name == "conf.cond.anyof") return anyOf([owner, not(kind)]);
  if (name == "conf.cond.nested") return anyOf([allOf([owner, not(anyOf([kind, pub]))]), not(not(pub))]);
  return null;
}

class Conformance extends Policy {
  constructor() {
    super();
    this.name = "conformance";
    this.version = SDK_VERSION;
    this.claims = ["conf.*"];
  }

  decide(p: Principal, it: Item): Decision {
    const name = it.permission.name;
    if (name == "conf.allow") return allow();
    if (name == "conf.deny") return deny();
    if (name == "conf.abstain") return abstain();
    if (name == "conf.allow.reason") return allow("allowed by conformance policy");
    if (name == "conf.deny.reason") return deny("denied by conformance policy");
    if (name == "conf.reason") return allow(echo(p, it));
    if (!name.startsWith("conf.cond.")) return abstain();
    if (!it.permission.isResource()) return deny("conditional needs a resource permission");
    const c = conditions(name, p, it.permission.resourceType);
    if (c == null) return abstain();
    return conditional("conf", c);
  }
}

register(new Conformance());
