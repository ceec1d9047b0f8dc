/** Vite's `?raw` suffix imports a file's text: tests read recorded wire fixtures (SSE) this way. */
declare module "*?raw" {
  const text: string;
  export default text;
}
