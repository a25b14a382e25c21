import { describe, expect, it } from "vitest";
import type { QuestionView } from "../bindings";
import { inputId, pathIsUnder, textOf, valueOf } from "./values";

function question(field_type: string): QuestionView {
  return {
    key: "k",
    label_zh: "",
    label_en: "",
    field_type,
    code_table: null,
    requirement: "required",
    calculated: false,
    default_from: null,
    help_zh: null,
    min_value: null,
    max_value: null,
    max_length: null,
    children: [],
    min_rows: 0,
    max_rows: null,
    items_zh: [],
  };
}

describe("intake values", () => {
  it("sends numbers for numeric fields and keeps bad text for the engine to report", () => {
    expect(valueOf(question("integer"), " 12 ")).toBe(12);
    expect(valueOf(question("integer"), "1.5")).toBe("1.5");
    expect(valueOf(question("money"), "100.25")).toBe(100.25);
    expect(valueOf(question("money"), "abc")).toBe("abc");
    expect(valueOf(question("text"), "  ")).toBeNull();
    expect(valueOf(question("text"), "张三")).toBe("张三");
  });

  it("matches errors to a field and its rows, not to fields with a longer name", () => {
    expect(pathIsUnder("shareholders[2].name", "shareholders")).toBe(true);
    expect(pathIsUnder("shareholders", "shareholders")).toBe(true);
    expect(pathIsUnder("shareholders_count", "shareholders")).toBe(false);
  });

  it("makes safe ids and readable text", () => {
    expect(inputId("market.company/entity_name")).toBe("field-market_company_entity_name");
    expect(textOf(null)).toBe("");
    expect(textOf(3)).toBe("3");
  });
});
