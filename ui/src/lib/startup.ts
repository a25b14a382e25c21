// The first screen's three questions, asked the moment the script starts
// (main.ts imports this first), so the answers travel while the rest of the
// interface is set up and mounted. App's first load takes these answers; a
// retry asks again.
import { commands } from "./bindings";

export function askFirstScreen() {
  return Promise.all([commands.getPreferences(), commands.appInfo(), commands.sessionStatus()]);
}

let first: ReturnType<typeof askFirstScreen> | null = askFirstScreen();

/** The answers asked at start the first time, fresh ones after. */
export function firstScreenAnswers(): ReturnType<typeof askFirstScreen> {
  const answers = first ?? askFirstScreen();
  first = null;
  return answers;
}
