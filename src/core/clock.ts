/** Injected time source (epoch ms), so tests, stores and workers agree on "now". */
export type Clock = () => number;
export const systemClock: Clock = () => Date.now();
