/**
 * The tenant of a config with the single `source` (no `sources` list), and of every event stored before
 * tenants existed: its cursor, lease and dedupe are the ones a single-tenant host always had.
 */
export const DEFAULT_TENANT = "default";

/** The store's `meta` key of a tenant's stream cursor (`cursor` for the tenant `default`, as before tenants). */
export function cursorKey(tenant: string): string {
  return tenant === DEFAULT_TENANT ? "cursor" : `cursor:${tenant}`;
}
