/**
 * TODO: module doc with one runnable example.
 *
 * @module
 */

export * from "./errors.ts";
export * from "./server/mod.ts";
export * from "./client/mod.ts";
export * from "./fs/mod.ts";
