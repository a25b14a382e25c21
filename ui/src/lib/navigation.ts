// The screens of the left navigation, in order, with their keyboard shortcuts.

export const VIEW_IDS = [
  "queue",
  "intake",
  "cases",
  "issuance",
  "supervisor",
  "training",
  "settings",
] as const;

export type ViewId = (typeof VIEW_IDS)[number];

/** The shortcut that opens a screen: Alt+1 for the first, and so on. */
export function shortcutFor(view: ViewId): string {
  return `Alt+${VIEW_IDS.indexOf(view) + 1}`;
}

interface KeyPress {
  altKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  code: string;
}

/**
 * The screen a key press asks for, or null. Alt+digit (by physical key, so
 * it works whatever the input method) switches screens; any other modifier
 * leaves the key to the focused field.
 */
export function viewForKeyPress(press: KeyPress): ViewId | null {
  if (!press.altKey || press.ctrlKey || press.metaKey || press.shiftKey) {
    return null;
  }
  const match = /^Digit([1-9])$/.exec(press.code);
  if (!match) {
    return null;
  }
  return VIEW_IDS[Number(match[1]) - 1] ?? null;
}
