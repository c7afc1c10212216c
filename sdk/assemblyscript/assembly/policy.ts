// The policy model: principal, item, criteria, decision, settings, Policy.
import { Field, Value } from "./json";

/** SDK_VERSION is reported by verdict_describe as "assemblyscript/<SDK_VERSION>". */
export const SDK_VERSION = "0.1.0";

/** Actor is a service acting on behalf of a user. */
export class Actor {
  type: string = "";
  subject: string = "";
}

/** Principal is who asks: type "user", "service" or "none". Absent strings are empty. */
export class Principal {
  type: string = "";
  userEntityRef: string = "";
  ownershipEntityRefs: string[] = [];
  actor: Actor | null = null;
  subject: string = "";
}

/** Permission is what is asked: type "basic" or "resource"; action may be empty. */
export class Permission {
  type: string = "";
  name: string = "";
  action: string = "";
  resourceType: string = "";
  isResource(): bool { return this.type == "resource"; }
}

/** Item is one question of a batch; hasResourceRef tells absent from empty. */
export class Item {
  id: string = "";
  permission: Permission = new Permission();
  resourceRef: string = "";
  hasResourceRef: bool = false;
}

/** Op is the kind of a criteria node. */
export enum Op { Leaf, AllOf, AnyOf, Not }

/** Criteria is a Backstage permission criteria tree (abi/SPEC.md §8). */
export class Criteria {
  op: Op = Op.Leaf;
  rule: string = "";
  resourceType: string = "";
  /** A leaf's params; null means no "params" key. */
  params: Field[] | null = null;
  children: Criteria[] = [];
}

/** condition makes a leaf. */
export function condition(rule: string, resourceType: string, params: Field[] | null = null): Criteria {
  const c = new Criteria();
  c.rule = rule;
  c.resourceType = resourceType;
  c.params = params;
  return c;
}
/** allOf: every child holds. */
export function allOf(cs: Criteria[]): Criteria { const c = new Criteria(); c.op = Op.AllOf; c.children = cs; return c; }
/** anyOf: at least one child holds. */
export function anyOf(cs: Criteria[]): Criteria { const c = new Criteria(); c.op = Op.AnyOf; c.children = cs; return c; }
/** not: the child does not hold. */
export function not(child: Criteria): Criteria { const c = new Criteria(); c.op = Op.Not; c.children = [child]; return c; }

/** Result is a decision's result. */
export enum Result { Abstain, Allow, Deny, Conditional }

/** Decision is the answer to one item. */
export class Decision {
  result: Result = Result.Abstain;
  pluginId: string = "";
  /** For CONDITIONAL; left empty, the SDK fills in the item's resource type. */
  resourceType: string = "";
  conditions: Criteria | null = null;
  reason: string = "";
}

function decision(r: Result, reason: string): Decision { const d = new Decision(); d.result = r; d.reason = reason; return d; }
/** allow answers ALLOW, with an optional reason. */
export function allow(reason: string = ""): Decision { return decision(Result.Allow, reason); }
/** deny answers DENY, with an optional reason. */
export function deny(reason: string = ""): Decision { return decision(Result.Deny, reason); }
/** abstain answers ABSTAIN: no opinion. */
export function abstain(): Decision { return decision(Result.Abstain, ""); }
/** conditional answers CONDITIONAL: pluginId must apply the criteria (for the item's resource type). */
export function conditional(pluginId: string, conditions: Criteria): Decision {
  const d = decision(Result.Conditional, "");
  d.pluginId = pluginId;
  d.conditions = conditions;
  return d;
}

/** Settings is what configure gets: the settings file as JSON (null when there is none) and the NAME.d/ files. */
export class Settings {
  value: Value | null = null;
  files: Map<string, string> = new Map<string, string>();
}

/**
 * Policy is a policy module. Extend it, set name, version and claims, override
 * decide (and configure when the policy takes settings), and register one
 * instance from the entry file.
 */
export abstract class Policy {
  name: string = "";
  version: string = "";
  /** Patterns over permission names ("catalog.*"); read after configure. */
  claims: string[] = [];

  /** decide answers one item. */
  abstract decide(p: Principal, item: Item): Decision;

  /**
   * configure runs once at load with the settings; it returns null to accept
   * them or a message to refuse the module. The default refuses any settings
   * file or NAME.d/ files.
   */
  configure(s: Settings): string | null {
    if (s.value != null || s.files.size > 0) return "policy " + this.name + " takes no settings or files";
    return null;
  }
}
