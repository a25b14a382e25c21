// First: asks the first screen's questions at once.
import "./lib/startup";
import { mount } from "svelte";
import "./app.css";
import { setUpLanguages } from "./lib/i18n";
import App from "./App.svelte";

// Start-up marks ("onewindow:…"): the window benchmark reads them to tell
// where a start goes. This one: every module has run.
performance.mark("onewindow:modules");

setUpLanguages();

const target = document.getElementById("app");
if (!target) {
  throw new Error("index.html has no #app element");
}

const app = mount(App, { target });
performance.mark("onewindow:mounted");
export default app;
