import type { zhCN } from "./zh-CN";

/** Widens the zh-CN message literals to strings: every language has this shape. */
type Widen<T> = { readonly [K in keyof T]: T[K] extends string ? string : Widen<T[K]> };

/** The shape every language's messages must have: the zh-CN keys, all of them. */
export type MessageShape = Widen<typeof zhCN>;
