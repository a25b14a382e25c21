import { IntlMessageFormat } from "intl-messageformat";
import { describe, expect, it } from "vitest";
import { en } from "./en";
import { zhCN } from "./zh-CN";

type Tree = { readonly [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") {
      out.set(path, value);
    } else {
      for (const [inner, text] of flatten(value, path)) out.set(inner, text);
    }
  }
  return out;
}

const zh = flatten(zhCN);
const english = flatten(en);

describe("interface messages", () => {
  it("English has exactly the zh-CN keys", () => {
    expect([...english.keys()].sort()).toEqual([...zh.keys()].sort());
  });

  it("no message is empty", () => {
    for (const [key, text] of [...zh, ...english]) {
      expect(text.trim(), key).not.toBe("");
    }
  });

  it("every message parses and takes the same placeholders in both languages", () => {
    const placeholders = (text: string) =>
      [...text.matchAll(/\{(\w+)/g)].map((match) => match[1]).sort();
    for (const [key, text] of zh) {
      const other = english.get(key) ?? "";
      expect(() => new IntlMessageFormat(text, "zh-CN"), key).not.toThrow();
      expect(() => new IntlMessageFormat(other, "en"), key).not.toThrow();
      expect(new Set(placeholders(other)), key).toEqual(new Set(placeholders(text)));
    }
  });

  it("English is translated, not copied from zh-CN", () => {
    for (const [key, text] of english) {
      expect(/[\u4e00-\u9fff]/.test(text), `${key}: ${text}`).toBe(false);
    }
  });

  it("counts read naturally in English", () => {
    const count = english.get("topBar.pendingSyncCount") ?? "";
    expect(new IntlMessageFormat(count, "en").format({ count: 1 })).toBe("1 case");
    expect(new IntlMessageFormat(count, "en").format({ count: 3 })).toBe("3 cases");
  });
});
