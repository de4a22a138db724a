/** Raised when a store was written by a newer switchyard than this one: its schema cannot be read safely. */
export class SchemaTooNewError extends Error {
  readonly code = "SWITCHYARD_SCHEMA_TOO_NEW";
  constructor(where: string, found: number, known: number) {
    super(
      `[switchyard] the state in ${where} has schema version ${found}; this switchyard knows up to ${known}: upgrade switchyard`,
    );
    this.name = "SchemaTooNewError";
  }
}
