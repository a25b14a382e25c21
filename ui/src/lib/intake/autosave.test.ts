import { describe, expect, it } from "vitest";
import { LONGEST_UNSAVED_MS, PAUSE_MS, saveDelay } from "./autosave";

describe("saveDelay", () => {
  it("waits for a pause after the first change", () => {
    expect(saveDelay(1000, 1000)).toBe(PAUSE_MS);
  });

  it("never lets continuous typing go unsaved longer than the limit", () => {
    // A key every 120 ms: each change restarts the pause, but the save
    // falls due at the latest LONGEST_UNSAVED_MS after the first change.
    const first = 5000;
    let dueAt = Infinity;
    for (let now = first; now < first + 3000; now += 120) {
      if (now >= dueAt) {
        break;
      }
      dueAt = now + saveDelay(now, first);
    }
    expect(dueAt - first).toBeLessThanOrEqual(LONGEST_UNSAVED_MS);
    expect(saveDelay(first + LONGEST_UNSAVED_MS + 10, first)).toBe(0);
  });
});
