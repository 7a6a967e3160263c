/**
 * The whole of a structured agent message as readable text (the command's `fallbackText`), for platforms or
 * limits where quick replies and cards cannot be shown as such (genesys-open-messaging.md §8). Pure.
 */
import type { OutboundCard, OutboundOption } from '../../core/commands.js';

/** The prompt, then quick replies numbered, then cards with their links. */
export function fallbackText(prompt: string, quickReplies: readonly OutboundOption[], cards: readonly OutboundCard[]): string {
  const options = quickReplies.map((option, i) => `${i + 1}. ${option.text}`);
  const numbered = cards.length > 1;
  const cardText = cards.flatMap((card, i) => cardLines(card, numbered ? `${i + 1}. ` : ''));
  return [prompt, ...options, ...cardText].filter(Boolean).join('\n');
}

function cardLines(card: OutboundCard, prefix: string): string[] {
  const heading = [card.title, card.description].filter(Boolean).join(' – ');
  const indent = ' '.repeat(prefix.length);
  const actions = card.actions.map((action) => `${indent}${action.url ? `${action.text}: ${action.url}` : action.text}`);
  return [`${prefix}${heading}`, ...actions];
}
