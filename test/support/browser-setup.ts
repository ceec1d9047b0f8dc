import { ensureChromium } from "./browser";

/** Global setup of the `browser` test project: Debian's Chromium is there before any test starts. */
export default function setup(): void {
  ensureChromium();
}
