import type { SwitchyardConfig } from "../config/schema.js";

/** What a caller of the admin API may do: a viewer reads everything, an operator also changes things. */
export type Role = "viewer" | "operator";

/** Who a request comes from: the admin token's name (the audit log's actor) and its role. */
export interface Principal {
  name: string;
  role: Role;
}

/** A named admin token. */
export interface AdminToken extends Principal {
  token: string;
}

/** The console on a loopback server without tokens: an operator, as before roles existed. */
export const LOOPBACK: Principal = { name: "loopback", role: "operator" };

/** Every admin token of the config: `adminTokens`, and `adminToken` as an operator named `admin`. */
export function adminTokensOf(server: Pick<SwitchyardConfig["server"], "adminToken" | "adminTokens">) {
  const tokens: AdminToken[] = [];
  if (server.adminToken !== undefined) {
    tokens.push({ name: "admin", token: server.adminToken, role: "operator" });
  }
  for (const { name, token, role } of server.adminTokens ?? []) tokens.push({ name, token, role });
  return tokens;
}
