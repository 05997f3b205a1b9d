import { defineConfig } from "vite";

// Preact's JSX through esbuild; no plugin needed. `npm run dev` proxies the API to a
// running `mybroker up`, so the page and /graphql share an origin as they do in production.
export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 300 },
  server: {
    proxy: { "/graphql": { target: "http://127.0.0.1:4000", ws: true } },
  },
});
