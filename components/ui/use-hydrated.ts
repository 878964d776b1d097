import { useSyncExternalStore } from "react";

const subscribe = () => () => {};

/**
 * False in the server render and the hydration pass, true once React handles events in the browser. Pages whose
 * data arrives with the HTML (prefetched and hydrated) render their controls only then: a file picked or a button
 * pressed before hydration would otherwise be lost.
 */
export function useHydrated(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => true,
    () => false,
  );
}
