// Vite's `?raw` imports (vitest): the file's text, bundled into the test module graph — the
// engine tests get their reference fixtures without touching the disk at run time.
declare module '*?raw' {
  const text: string;
  export default text;
}
