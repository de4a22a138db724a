import { switchyardProject } from "../../vitest.shared.ts";

export default switchyardProject("auth0-events");
