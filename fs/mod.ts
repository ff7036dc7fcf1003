/**
 * TODO(area owner): module doc with one runnable example.
 *
 * @module
 */

export * from "../errors.ts";
export * from "./atomic.ts";
