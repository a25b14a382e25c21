import { describe, expect, it } from "vitest";
import { VIEW_IDS, shortcutFor, viewForKeyPress } from "./navigation";

const press = (code: string, modifiers: Partial<Record<"altKey" | "ctrlKey" | "metaKey" | "shiftKey", boolean>> = {}) => ({
  altKey: false,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  code,
  ...modifiers,
});

describe("navigation", () => {
  it("lists the seven screens in the order of the left navigation", () => {
    expect(VIEW_IDS).toEqual(["queue", "intake", "cases", "issuance", "supervisor", "training", "settings"]);
  });

  it("Alt+digit opens the screen with that position", () => {
    VIEW_IDS.forEach((view, index) => {
      expect(viewForKeyPress(press(`Digit${index + 1}`, { altKey: true }))).toBe(view);
      expect(shortcutFor(view)).toBe(`Alt+${index + 1}`);
    });
  });

  it("leaves other keys to the focused field", () => {
    expect(viewForKeyPress(press("Digit1"))).toBeNull();
    expect(viewForKeyPress(press("Digit1", { altKey: true, ctrlKey: true }))).toBeNull();
    expect(viewForKeyPress(press("Digit1", { altKey: true, shiftKey: true }))).toBeNull();
    expect(viewForKeyPress(press("Digit8", { altKey: true }))).toBeNull();
    expect(viewForKeyPress(press("KeyQ", { altKey: true }))).toBeNull();
  });
});
