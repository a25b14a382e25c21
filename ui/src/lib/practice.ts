// Key presses during a practice attempt: counted for the trainee's score
// (how much typing the case took). The listener is the module's, so it
// keeps counting while the trainee moves between screens.

let counting = false;
let presses = 0;

if (typeof window !== "undefined") {
  window.addEventListener(
    "keydown",
    () => {
      if (counting) {
        presses += 1;
      }
    },
    { capture: true, passive: true },
  );
}

/** Starts counting (an attempt began, or the window reopened on one). */
export function startCounting(from = 0): void {
  counting = true;
  presses = from;
}

/** Stops counting and says how many presses there were. */
export function stopCounting(): number {
  counting = false;
  return presses;
}

export function pressesSoFar(): number {
  return presses;
}
