// When a draft is saved while the clerk types: after a short pause in the
// typing, and at the latest a fixed time after the first unsaved change, so
// continuous typing is never more than that far from the store. A kill of
// the app loses at most `LONGEST_UNSAVED_MS` of typing (plus one save).
// The reliability suite (offline-cache/tests/crash.rs) replays the same rule.

/** Save after this long without a change. */
export const PAUSE_MS = 250;
/** Never leave a change unsaved longer than this while typing goes on. */
export const LONGEST_UNSAVED_MS = 750;

/** Milliseconds from `now` until the save, given when the oldest unsaved change was made. */
export function saveDelay(now: number, unsavedSince: number): number {
  return Math.max(0, Math.min(PAUSE_MS, unsavedSince + LONGEST_UNSAVED_MS - now));
}
