// The screens behind the sign-in, in one chunk of their own. The first
// screen (the sign-in) needs none of them, so the window's first script is
// smaller and starts sooner; App loads this when someone signs in.
export { default as CasesView } from "./CasesView.svelte";
export { default as IntakeView } from "./IntakeView.svelte";
export { default as IssuanceView } from "./IssuanceView.svelte";
export { default as PlaceholderView } from "./PlaceholderView.svelte";
export { default as PracticeView } from "./PracticeView.svelte";
export { default as QueueView } from "./QueueView.svelte";
export { default as SettingsView } from "./SettingsView.svelte";
export { default as SupervisorView } from "./SupervisorView.svelte";
export { default as HandoverPanel } from "../session/HandoverPanel.svelte";
