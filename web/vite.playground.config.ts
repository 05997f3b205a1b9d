import { defineConfig } from "vite";

// The GraphiQL playground, served by the router at GET /graphql for browsers. A build of
// its own, so React and GraphiQL (about 1 MB) stay out of the trading screen's Preact
// bundle. `npm run build` runs it after the screen's build (which empties dist/), into
// dist/playground/; the router serves those files under /playground/.
export default defineConfig({
  root: "playground",
  base: "/playground/",
  esbuild: { jsx: "automatic", jsxImportSource: "react" },
  build: {
    outDir: "../dist/playground",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      // GraphiQL's framer-motion marks its modules "use client" (for React Server
      // Components); meaningless in a browser-only bundle, and one warning per module.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
    },
  },
});
