/**
 * Supervises a server process the bench started (workerd, Portkey): it never outlives the bench,
 * even when the bench dies on an uncaught error, and `stop()` waits until it has really exited.
 * @param {import("node:child_process").ChildProcess} child
 * @returns {{ stop(): Promise<void>, isDead(): boolean }}
 */
export function supervise(child) {
  const killOnExit = () => child.kill("SIGKILL");
  process.once("exit", killOnExit);
  /** @type {Promise<void>} */
  const exited = new Promise((resolve) =>
    child.once("exit", () => {
      process.off("exit", killOnExit);
      resolve();
    }),
  );
  let dead = false;
  void exited.then(() => (dead = true));
  return {
    isDead: () => dead,
    stop: async () => {
      if (!dead) child.kill("SIGTERM");
      await exited;
    },
  };
}
