// How the intake form's values travel: what an input's text becomes in the
// JSON the Rust form engine checks, and how errors are matched to fields.
// The engine decides what is valid; this only converts and looks up.
import type { QuestionView } from "../bindings";

/** The JSON value of an input's text for a question of this type. */
export function valueOf(question: QuestionView, text: string): unknown {
  const trimmed = text.trim();
  if (trimmed === "") {
    return null;
  }
  switch (question.field_type) {
    case "integer": {
      const number = Number(trimmed);
      return Number.isInteger(number) ? number : trimmed;
    }
    case "decimal":
    case "money": {
      const number = Number(trimmed);
      return Number.isFinite(number) ? number : trimmed;
    }
    default:
      return text;
  }
}

/** The text an input shows for a stored value. */
export function textOf(value: unknown): string {
  if (value === null || value === undefined) {
    return "";
  }
  return typeof value === "string" ? value : String(value);
}

/** Whether an error path belongs to `key` (the field itself or its rows). */
export function pathIsUnder(path: string, key: string): boolean {
  return path === key || path.startsWith(`${key}[`) || path.startsWith(`${key}.`);
}

/** The DOM id of a question's input, for jump-to-field. */
export function inputId(key: string): string {
  return `field-${key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
}

/** A row of a group as the engine expects it: child id → value. */
export type Row = Record<string, unknown>;

export function rowsOf(value: unknown): Row[] {
  return Array.isArray(value) ? (value as Row[]) : [];
}
