/** dynalite ships no types: the part the tests use. */
declare module 'dynalite' {
  import type { Server } from 'node:net';

  interface DynaliteOptions {
    /** How long tables stay CREATING, DELETING, UPDATING (ms). */
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
  }

  export default function dynalite(options?: DynaliteOptions): Server;
}
