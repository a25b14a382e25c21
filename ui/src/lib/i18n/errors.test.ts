import { describe, expect, it } from "vitest";
import { errorMessage } from "./index";

describe("errorMessage", () => {
  const error = { code: "write_failed", message_zh: "无法写入", message_en: "could not write" };
  it("shows the message of the language on screen", () => {
    expect(errorMessage(error, "zh-CN")).toBe("无法写入");
    expect(errorMessage(error, "en")).toBe("could not write");
  });
});
