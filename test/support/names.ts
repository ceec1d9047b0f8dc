/**
 * Unique names for system tests, so tests sharing one stack (and one fake upstream, whose knobs and
 * recordings are keyed by model) never see each other's state.
 */

let n = 0;
/** A model name no other test uses (knobs and recordings are keyed by it). */
export function uniqueModel(label: string): string {
  return `${label}-${process.pid}-${++n}`;
}
