/**
 * Who may do what: the one table every procedure, page and test reads.
 * Org permissions depend on the member's role. Container access is a level: Owners and Admins manage
 * every container of their org; Members get `view` or `edit` per container through a grant.
 */
export const ORG_ROLES = ["owner", "admin", "member"] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

export const ORG_PERMISSIONS = {
  "org.view": ["owner", "admin", "member"],
  "members.invite": ["owner", "admin"],
  "members.changeRole": ["owner"],
  "members.remove": ["owner"],
  "containers.create": ["owner", "admin", "member"],
  "connectors.view": ["owner", "admin", "member"],
  /** Create, edit, re-test, disconnect a connector and read its credential access log. */
  "connectors.manage": ["owner", "admin"],
} as const satisfies Record<string, readonly OrgRole[]>;
export type OrgPermission = keyof typeof ORG_PERMISSIONS;

export function roleCan(role: OrgRole, permission: OrgPermission): boolean {
  return (ORG_PERMISSIONS[permission] as readonly OrgRole[]).includes(role);
}

/** Roles an inviter may hand out: only Owners create Owners. */
export function assignableRoles(role: OrgRole): readonly OrgRole[] {
  if (role === "owner") return ORG_ROLES;
  if (role === "admin") return ["admin", "member"];
  return [];
}

export const CONTAINER_LEVELS = ["view", "edit", "manage"] as const;
export type ContainerLevel = (typeof CONTAINER_LEVELS)[number];
export type GrantLevel = Extract<ContainerLevel, "view" | "edit">;

/** A member's effective level on a container, or null when they cannot see it at all. */
export function containerLevel(role: OrgRole, grant: GrantLevel | null): ContainerLevel | null {
  if (role === "owner" || role === "admin") return "manage";
  return grant;
}

export function levelAllows(have: ContainerLevel, need: ContainerLevel): boolean {
  return CONTAINER_LEVELS.indexOf(have) >= CONTAINER_LEVELS.indexOf(need);
}
