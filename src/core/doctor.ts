/** One result of `dmbridge doctor`: every online check of a connection, the store or Genesys gives these. */
export interface DoctorCheck {
  /** What was checked, e.g. `acme-support: Genesys integration is active`. */
  name: string;
  ok: boolean;
  /** What the check found; never a secret. */
  detail: string;
  /** Present when `ok` is false: one sentence saying what to change. */
  fix?: string;
}
