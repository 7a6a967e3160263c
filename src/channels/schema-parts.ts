/** Parts of the channels' webhook schemas that mean the same for every platform. */
import { z } from 'zod';

/**
 * A field we only describe things with (titles, URLs, referral ids): missing, null or mistyped reads as absent
 * and never fails the item. Fields that decide what an item *is* (its id, its type) stay strict.
 */
export function lenient<T extends z.ZodType>(schema: T) {
  return schema.optional().catch(undefined);
}

/** Unix seconds (`create_time`, `timestamp`); digit strings accepted. Bounded so that × 1000 stays a safe integer. */
export const epochSeconds = z
  .union([z.number(), z.string().regex(/^\d{1,12}$/).transform(Number)])
  .pipe(z.int().positive().max(1e12));
