import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/interop/**/*.test.ts"],
    testTimeout: 120_000,
    fileParallelism: false,
  },
});
