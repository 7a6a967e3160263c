/** Comparing a secret someone sent with the configured one. */
import { createHash, timingSafeEqual } from 'node:crypto';

/** Hashing first gives equal-length buffers, so neither the content nor the length of either secret leaks. */
export function equalsInConstantTime(a: string, b: string): boolean {
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(a), digest(b));
}
