/**
 * TODO(area owner): module doc with one runnable example.
 *
 * @module
 */

export * from "../errors.ts";
export * from "./gather.ts";
export * from "./task_group.ts";
export * from "./wait.ts";
