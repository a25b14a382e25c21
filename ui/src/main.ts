import { mount } from "svelte";
import "./app.css";
import { setUpLanguages } from "./lib/i18n";
import App from "./App.svelte";

setUpLanguages();

const target = document.getElementById("app");
if (!target) {
  throw new Error("index.html has no #app element");
}

export default mount(App, { target });
